"""Contextual risk count model: published fits, known simulated truth, errors."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from statsmodels.datasets import cpunish

from cegah.risk.model import FACTOR_COLUMNS, CountModel, underreporting

# Ship damage data of McCullagh & Nelder (1989), section 6.3.2, as shipped in R's MASS
# package (``MASS::ships``): type, year of construction, period of operation, aggregate
# months of service, damage incidents. The six cells without service are structural
# zeros (no such ships).
SHIPS = """\
A 60 60 127 0|A 60 75 63 0|A 65 60 1095 3|A 65 75 1095 4|A 70 60 1512 6|A 70 75 3353 18|
A 75 60 0 0|A 75 75 2244 11|B 60 60 44882 39|B 60 75 17176 29|B 65 60 28609 58|
B 65 75 20370 53|B 70 60 7064 12|B 70 75 13099 44|B 75 60 0 0|B 75 75 7117 18|
C 60 60 1179 1|C 60 75 552 1|C 65 60 781 0|C 65 75 676 1|C 70 60 783 6|C 70 75 1948 2|
C 75 60 0 0|C 75 75 274 1|D 60 60 251 0|D 60 75 105 0|D 65 60 288 0|D 65 75 192 0|
D 70 60 349 2|D 70 75 1208 11|D 75 60 0 0|D 75 75 2051 4|E 60 60 45 0|E 60 75 0 0|
E 65 60 789 7|E 65 75 437 7|E 70 60 1157 5|E 70 75 2161 12|E 75 60 0 0|E 75 75 542 1"""


def ships():
    rows = [cell.split() for cell in SHIPS.replace("\n", "").split("|")]
    d = pd.DataFrame(rows, columns=["type", "year", "period", "service", "incidents"])
    d[["service", "incidents"]] = d[["service", "incidents"]].astype(int)
    factors = pd.DataFrame({f"type_{t.lower()}": (d["type"] == t).astype(int) for t in "BCDE"})
    for year in ("65", "70", "75"):
        factors[f"built_{year}"] = (d["year"] == year).astype(int)
    factors["operated_75"] = (d["period"] == "75").astype(int)
    return factors, d["incidents"].to_numpy(), d["service"].to_numpy()


TRUTH = {"ferry_port": 2.0, "nightlife": 1.5, "poverty_rate": 1.3}


def simulate(seed, n=5000, overdispersion=0.0):
    """SYNTHETIC: 3 real factors (TRUTH, relative risks) and 3 noise factors, one of them
    correlated with poverty; Poisson (or gamma-Poisson) counts at about 1 per 1,000."""
    rng = np.random.default_rng(seed)
    pop = rng.integers(100, 5001, n).astype(float)
    poverty = rng.normal(15, 6, n)
    factors = pd.DataFrame({
        "ferry_port": (rng.random(n) < 0.1).astype(int),
        "nightlife": (rng.random(n) < 0.2).astype(int),
        "poverty_rate": poverty,
        "market": (rng.random(n) < 0.3).astype(int),
        "elevation": rng.gamma(2.0, 150.0, n),
        "road_density": 0.3 * (poverty - 15) / 6 + rng.normal(0, 1, n),
    })
    z = (poverty - poverty.mean()) / poverty.std()
    eta = (np.log(2.0) * factors["ferry_port"] + np.log(1.5) * factors["nightlife"]
           + np.log(1.3) * z)
    mu = pop * 1e-3 * np.exp(eta.to_numpy())
    if overdispersion:
        mu = mu * rng.gamma(1 / overdispersion, overdispersion, n)
    return factors, rng.poisson(mu), pop


def test_it_reproduces_the_published_ship_damage_poisson_fit():
    # McCullagh & Nelder (1989), Generalized Linear Models, 2nd ed., section 6.3.2:
    # log-linear Poisson model of ship damage incidents with offset log(service), main
    # effects of type, year of construction and period of operation (34 cells with
    # service). Published estimates (3 decimals) and deviance 38.69 on 25 df.
    factors, incidents, service = ships()
    keep = service > 0
    model = CountModel(family="poisson", selection="none").fit(
        factors[keep].reset_index(drop=True), incidents[keep], service[keep])
    published = {"type_b": -0.543, "type_c": -0.687, "type_d": -0.076, "type_e": 0.326,
                 "built_65": 0.697, "built_70": 0.818, "built_75": 0.453,
                 "operated_75": 0.384}
    assert model.intercept_ == pytest.approx(-6.406, abs=6e-4)
    assert_allclose(model.coef_[list(published)], list(published.values()), atol=6e-4)
    y, mu = incidents[keep].astype(float), model.expected_
    deviance = 2 * np.sum(np.where(y > 0, y * np.log(np.where(y > 0, y, 1) / mu), 0) - (y - mu))
    assert deviance == pytest.approx(38.69, abs=0.01)
    assert set(model.factors_["unit"]) == {"present"}

    # Independent computation: statsmodels GLM, same model.
    exog = sm.add_constant(factors[keep].astype(float))
    glm = sm.GLM(incidents[keep], exog, family=sm.families.Poisson(),
                 offset=np.log(service[keep])).fit()
    assert_allclose(model.coef_[exog.columns[1:]], glm.params.iloc[1:], rtol=1e-7)
    assert model.loglik_ == pytest.approx(glm.llf, rel=1e-10)
    table = model.all_factors_.set_index("factor").loc[exog.columns[1:]]
    z = 1.6448536269514722
    assert_allclose(np.log(table["low"]), glm.params.iloc[1:] - z * glm.bse.iloc[1:], rtol=1e-6)
    assert_allclose(table["p"], glm.pvalues.iloc[1:], rtol=1e-5)


def test_it_rejects_the_structural_zero_cells_of_the_ship_data():
    factors, incidents, service = ships()
    with pytest.raises(ValueError, match="population: expected children > 0 in every area; "
                                         "6 areas .* \\(first at position 6\\)"):
        CountModel().fit(factors, incidents, service)


def test_it_reports_continuous_factors_per_standard_deviation():
    # Capital punishment data of Gill (2001), shipped with statsmodels; reference values
    # from R's glm (statsmodels' genmod/tests/results/results_glm.py, class Cpunish:
    # INCOME, PERPOVERTY, PERBLACK, log(VC100k96), SOUTH, DEGREE, constant).
    data = cpunish.load_pandas().data
    factors = data[["INCOME", "PERPOVERTY", "PERBLACK", "VC100k96", "SOUTH", "DEGREE"]].copy()
    factors["VC100k96"] = np.log(factors["VC100k96"])
    factors.columns = ["income", "poverty", "black", "log_violent_crime", "south", "degree"]
    r_params = [2.611017e-04, 7.781801e-02, -9.493111e-02, 2.969349e-01, 2.301183e00,
                -1.872207e01, -6.801480e00]
    model = CountModel(family="poisson", selection="none").fit(
        factors, data["EXECUTIONS"].astype(int), np.ones(len(data)))
    raw = model.coef_[factors.columns] / model.scale_[factors.columns]
    intercept = model.intercept_ - float((raw * model.center_[factors.columns]).sum())
    assert_allclose([*raw, intercept], r_params, rtol=2e-5)
    units = model.units_.to_dict()
    assert units["south"] == "present" and units["income"] == "per SD"
    assert model.center_["south"] == 0 and model.scale_["south"] == 1
    assert model.scale_["income"] == pytest.approx(factors["income"].std(ddof=0))


@pytest.mark.parametrize("seed", range(5))
def test_it_selects_exactly_the_true_factors(seed):
    factors, cases, pop = simulate(seed)
    model = CountModel(level=0.99).fit(factors, cases, pop)
    table = model.factors_.set_index("factor")
    assert set(table.index) == set(TRUTH)
    assert model.family_ == "poisson" and model.alpha_ == 0.0
    rr = table["relative_risk"]
    assert np.all((table["low"] < rr) & (rr < table["high"]))
    for name, rr in TRUTH.items():
        assert table.loc[name, "low"] <= rr <= table.loc[name, "high"], name
    assert table.loc["ferry_port", "unit"] == "present"
    assert table.loc["poverty_rate", "unit"] == "per SD"
    assert list(model.factors_["relative_risk"]) == sorted(table["relative_risk"], reverse=True)


def test_it_selects_the_same_factors_stepwise_and_with_aic():
    factors, cases, pop = simulate(11)
    stepwise = CountModel(selection="stepwise").fit(factors, cases, pop)
    assert set(stepwise.factors_["factor"]) == set(TRUTH)
    aic = CountModel(criterion="aic", family="poisson").fit(factors, cases, pop)
    assert set(TRUTH) <= set(aic.factors_["factor"])
    k = 1 + len(aic.coef_)
    assert aic.criterion_ == pytest.approx(-2 * aic.loglik_ + 2 * k)


def test_it_describes_every_candidate_factor():
    factors, cases, pop = simulate(3)
    model = CountModel().fit(factors, cases, pop)
    table = model.all_factors_
    assert list(table.columns) == [*FACTOR_COLUMNS, "selected"]
    assert list(table["factor"]) == list(factors.columns)
    assert table["selected"].sum() == 3
    assert set(table.loc[table["selected"], "factor"]) == set(TRUTH)
    # Not selected: the estimate when added alone to the selected model, near 1.
    noise = table[~table["selected"]]
    assert np.all(noise["low"] < 1) and np.all(noise["high"] > 1)
    assert np.all(noise["p"] > 0.001)


def test_contributions_multiply_to_the_expected_count():
    factors, cases, pop = simulate(4)
    model = CountModel().fit(factors, cases, pop)
    contrib = model.contributions_
    assert list(contrib.columns) == list(model.coef_.index)
    assert_allclose(pop * model.baseline_rate_ * contrib.prod(axis=1), model.expected_)
    # Binary: 1 where absent, the relative risk where present.
    rr = model.factors_.set_index("factor")["relative_risk"]
    ferry = factors["ferry_port"].to_numpy() == 1
    assert_allclose(contrib.loc[ferry, "ferry_port"], rr["ferry_port"])
    assert_allclose(contrib.loc[~ferry, "ferry_port"], 1.0)
    # Continuous: 1 at the mean, the relative risk one standard deviation above it.
    z = (factors["poverty_rate"] - model.center_["poverty_rate"]) / model.scale_["poverty_rate"]
    assert_allclose(contrib["poverty_rate"], rr["poverty_rate"] ** z)
    rate = cases.sum() / pop.sum()
    assert model.rate_ == pytest.approx(rate)
    assert_allclose(model.relative_risk_, model.expected_ / (pop * rate))
    # Poisson with an intercept: fitted cases add up to the observed cases.
    assert model.expected_.sum() == pytest.approx(cases.sum(), rel=1e-8)


def test_it_picks_negative_binomial_for_overdispersed_counts():
    factors, cases, pop = simulate(21, overdispersion=0.5)
    model = CountModel().fit(factors, cases, pop)
    assert model.family_ == "negative_binomial"
    assert 0.35 < model.alpha_ < 0.7
    assert set(model.factors_["factor"]) == set(TRUTH)
    poisson = CountModel(family="poisson", selection="none").fit(factors, cases, pop)
    assert poisson.family_ == "poisson"


def test_it_matches_statsmodels_negative_binomial():
    factors, cases, pop = simulate(22, n=2000, overdispersion=0.8)
    model = CountModel(family="negative_binomial", selection="none").fit(factors, cases, pop)
    coded = (factors - model.center_) / model.scale_
    nb = sm.NegativeBinomial(cases, sm.add_constant(coded), offset=np.log(pop)).fit(
        disp=0, method="newton", maxiter=100)
    assert nb.mle_retvals["converged"]
    assert_allclose([model.intercept_, *model.coef_[factors.columns]], nb.params.iloc[:-1],
                    rtol=1e-5, atol=1e-7)
    assert model.alpha_ == pytest.approx(nb.params.iloc[-1], rel=1e-5)
    assert model.loglik_ == pytest.approx(nb.llf, rel=1e-10)
    se = np.log(model.all_factors_["high"] / model.all_factors_["relative_risk"]) / 1.6448536
    assert_allclose(se, nb.bse.iloc[1:-1], rtol=1e-4)


def test_it_keeps_poisson_for_poisson_counts():
    factors, cases, pop = simulate(23)
    model = CountModel(family="auto").fit(factors, cases, pop)
    assert model.family_ == "poisson"
    assert model.alpha_ == 0.0


def test_it_fits_an_intercept_only_model_without_factors():
    cases, pop = np.array([0, 3, 1, 7]), np.array([100.0, 900, 300, 1500])
    model = CountModel().fit(pd.DataFrame(index=range(4)), cases, pop)
    assert model.factors_.empty and list(model.factors_.columns) == list(FACTOR_COLUMNS)
    assert model.contributions_.shape == (4, 0)
    assert_allclose(model.relative_risk_, 1.0)
    assert_allclose(model.expected_, pop * cases.sum() / pop.sum())


def test_it_drops_constant_factors_with_a_reason():
    factors, cases, pop = simulate(5, n=500)
    factors["island"] = 1
    model = CountModel().fit(factors, cases, pop)
    assert "island" in model.dropped_ and "constant" in model.dropped_["island"]
    assert "island" not in set(model.all_factors_["factor"])


def test_it_respects_max_factors():
    factors, cases, pop = simulate(6)
    model = CountModel(max_factors=1).fit(factors, cases, pop)
    # Poverty has the largest standardised effect (log 1.3 per SD against log 2 times the
    # SD 0.3 of a 10% presence indicator), so it enters the path first.
    assert list(model.factors_["factor"]) == ["poverty_rate"]
    assert CountModel(max_factors=0).fit(factors, cases, pop).factors_.empty


def test_it_survives_a_factor_present_only_where_there_are_no_cases():
    factors, cases, pop = simulate(7, n=1000)
    factors["harbour"] = 0
    factors.loc[np.flatnonzero(cases == 0)[:5], "harbour"] = 1
    model = CountModel().fit(factors, cases, pop)
    assert "harbour" not in set(model.factors_["factor"])
    assert np.all(np.isfinite(model.expected_))


@pytest.mark.parametrize(("change", "message"), [
    (lambda f, c, p: (f.assign(poverty_rate=f["poverty_rate"].where(f.index != 3)), c, p),
     "factors: column 'poverty_rate' must be finite in every area; 1 missing or infinite "
     "values \\(first at row 3\\)"),
    (lambda f, c, p: (f.assign(market=np.inf), c, p), "column 'market' must be finite"),
    (lambda f, c, p: (f.assign(market="yes"), c, p), "column 'market' must be numeric"),
    (lambda f, c, p: (f.to_numpy(), c, p), "factors: expected a pandas DataFrame"),
    (lambda f, c, p: (f, np.r_[c[:-1], -7], p), "cases: expected whole counts >= 0; 1 areas"),
    (lambda f, c, p: (f, c + 0.5, p), "cases: expected whole counts"),
    (lambda f, c, p: (f, c * 0, p), "cases: all counts are zero"),
    (lambda f, c, p: (f, c, np.r_[0.0, p[1:]]), "population: expected children > 0 .* "
                                                "\\(first at position 0\\). Exclude them"),
    (lambda f, c, p: (f, c[:-1], p), "same areas; got 50, 49 and 50 rows"),
    (lambda f, c, p: (f, c, p[:-2]), "same areas; got 50, 50 and 48 rows"),
])
def test_it_rejects_bad_input_naming_the_parameter(change, message):
    factors, cases, pop = simulate(8, n=50)
    with pytest.raises(ValueError, match=message) as error:
        CountModel().fit(*change(factors, cases, pop))
    assert "-7" not in str(error.value)


@pytest.mark.parametrize(("settings", "message"), [
    ({"family": "gaussian"}, "family: expected one of 'auto', 'poisson', 'negative_binomial', "
                             "got 'gaussian'"),
    ({"selection": "forward"}, "selection: expected one of"),
    ({"criterion": "bic2"}, "criterion: expected one of"),
    ({"level": 1.0}, "level: expected a probability in \\(0, 1\\), got 1.0"),
    ({"max_factors": -1}, "max_factors: expected None or an integer >= 0, got -1"),
])
def test_it_rejects_bad_settings(settings, message):
    factors, cases, pop = simulate(9, n=50)
    with pytest.raises(ValueError, match=message):
        CountModel(**settings).fit(factors, cases, pop)


def test_underreporting_flags_areas_with_far_fewer_reports_than_expected():
    observed = np.array([0, 0, 5, 1, 10, 2])
    expected = np.array([4.0, 1.5, 12.0, 1.2, 9.0, 3.9])
    # 0 vs 4: P(X = 0) = 0.018; 0 vs 1.5: below the ratio; 5 vs 12: P(X <= 5) = 0.020;
    # 2 vs 3.9: below the ratio 2 x 2 = 4.
    assert underreporting(observed, expected).tolist() == [
        True, False, True, False, False, False]
    # Over-dispersed counts make a shortfall less surprising: NB2 with alpha 1.
    assert underreporting(observed, expected, alpha_dispersion=1.0).tolist() == [False] * 6
    assert underreporting(observed, expected, ratio=3.0).tolist() == [
        True, False, False, False, False, False]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"observed": [1, 2], "expected": [1.0]}, "same length"),
    ({"observed": [-1], "expected": [1.0]}, "observed: expected finite counts"),
    ({"observed": [1], "expected": [np.nan]}, "expected: expected finite"),
    ({"observed": [1], "expected": [1.0], "alpha": 0}, "alpha: expected a probability"),
    ({"observed": [1], "expected": [1.0], "ratio": 0}, "ratio: expected a positive"),
    ({"observed": [1], "expected": [1.0], "alpha_dispersion": -1},
     "alpha_dispersion: expected a number >= 0"),
])
def test_underreporting_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        underreporting(**kwargs)


def test_the_risk_package_never_imports_django():
    import subprocess
    import sys

    code = ("import sys, cegah.risk.model; "
            "sys.exit(any(m.split('.')[0] == 'django' for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0

"""The risk pipeline (cegah.risk.score) on small SYNTHETIC data and on a simulated world."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cegah.risk.score import DataProblem, RiskSettings, score_areas
from tests.risk_simulation import make_world

# SYNTHETIC: one regency "R" with two districts of four villages each.
AREAS = pd.DataFrame({
    "code": ["R", "R.1", "R.2"] + [f"R.1.{i}" for i in range(4)] + [f"R.2.{i}" for i in range(4)],
    "name": ["Regency", "District 1", "District 2"] + [f"Village {i}" for i in range(8)],
    "level": [2, 3, 3] + [4] * 8,
    "parent_code": [None, "R", "R"] + ["R.1"] * 4 + ["R.2"] * 4,
})
VILLAGES = [f"R.1.{i}" for i in range(4)] + [f"R.2.{i}" for i in range(4)]
CHILDREN = [4000, 5000, 6000, 100, 3000, 3500, 4000, 4500]


def population(children=CHILDREN, codes=VILLAGES):
    return pd.DataFrame({"code": codes, "year": 2026, "children": children})


def cases(rows):
    return pd.DataFrame(rows, columns=["code", "period", "category", "count"])


BASE = cases([
    ("R.1.0", "2026-03", "sexual_abuse", 4), ("R.1.1", "2026-05", "sexual_abuse", 3),
    ("R.1.2", "2026-07", "trafficking", 5), ("R.1.3", "2026-08", "sexual_abuse", 1),
    ("R.2.0", "2026-01", "sexual_abuse", 1), ("R.2.3", "2025-02", "sexual_abuse", 2),
    ("R.2.1", "2025-09", "online_sexual_exploitation", 1),  # 14th month back: excluded
])


def run(**kw):
    data = {"areas": AREAS, "population": population(), "cases": BASE}
    data.update({k: kw.pop(k) for k in list(kw) if k in data})
    settings = RiskSettings(as_of="2026-10", **kw)
    return score_areas(data["areas"], data["population"], data["cases"], settings=settings)


def test_rates_are_per_100000_children_over_the_window():
    t = run().table.set_index("code")
    assert t.loc["R.1.0", "cases"] == 4
    assert t.loc["R.1.0", "crude_rate"] == pytest.approx(4 / 4000 * 100_000)
    assert t.loc["R.1.2", "cases_trafficking"] == 5
    assert t.loc["R.2.1", "cases"] == 0  # outside the window
    assert t.loc["R.2.3", "previous_cases"] == 2 and t.loc["R.2.1", "previous_cases"] == 1
    assert list(t.index) == VILLAGES


def test_a_tiny_village_with_one_report_is_shrunk_toward_the_others():
    # (That small villages do not top the list is shown on 1,280-village worlds in
    # test_risk_simulation.py; eight villages are too few for a good prior.)
    t = run().table.set_index("code")
    assert t["crude_rate"].idxmax() == "R.1.3"  # 1 report among 100 children
    reference = 14 / sum(CHILDREN) * 100_000
    crude, smoothed = t.loc["R.1.3", ["crude_rate", "smoothed_rate"]]
    assert smoothed - reference < 0.2 * (crude - reference)
    assert t.loc["R.1.3", "rate_high"] > 3 * t.loc["R.1.3", "rate_low"]
    assert "few children (100)" in t.loc["R.1.3", "flags"]
    assert t.loc["R.1.3", "confidence"] == "low"
    assert (t["rate_low"] <= t["smoothed_rate"]).all()
    assert (t["smoothed_rate"] <= t["rate_high"]).all()


def test_it_refuses_cases_in_an_area_without_children_naming_the_line():
    data = BASE.assign(line=np.arange(2, len(BASE) + 2))
    pop = population(CHILDREN[:7], VILLAGES[:7])  # R.2.3 has no children row
    pop_zero = population([*CHILDREN[:3], 0, *CHILDREN[4:]])  # R.1.3 has 0 children
    with pytest.raises(DataProblem) as exc:
        run(cases=data.assign(period=data["period"].replace("2025-02", "2026-02")),
            population=pop)
    assert exc.value.problems[0][:2] == ("cases", 7)
    assert "R.2.3" in exc.value.problems[0][2]
    with pytest.raises(DataProblem, match="R.1.3"):
        run(cases=data, population=pop_zero)


def test_missing_population_can_be_scored_with_a_flag():
    pop = population([*CHILDREN[:3], 0, *CHILDREN[4:]])
    t = run(population=pop, allow_missing_population=True).table.set_index("code")
    assert t.loc["R.1.3", "tier"] == "unknown"
    assert "cases with zero population" in t.loc["R.1.3", "flags"]
    assert np.isnan(t.loc["R.1.3", "crude_rate"])
    assert t.drop("R.1.3")["score"].notna().all()


def test_it_scores_districts_from_village_data():
    result = run(level=3)
    t = result.table.set_index("code")
    assert list(t.index) == ["R.1", "R.2"]
    assert t.loc["R.1", "children"] == sum(CHILDREN[:4])
    assert t.loc["R.1", "cases"] == 13
    assert result.metadata["level"] == "district"


def test_tiers_are_rules_not_quotas():
    # The same rate everywhere: nobody is high, whatever the share would say.
    flat = cases([(c, "2026-05", "sexual_abuse", n // 1000) for c, n in
                  zip(VILLAGES, [4000, 5000, 6000, 1000, 3000, 3000, 4000, 4000], strict=True)])
    pop = population([4000, 5000, 6000, 1000, 3000, 3000, 4000, 4000])
    t = run(cases=flat, population=pop).table
    assert (t["tier"] != "high").all()


def test_the_trend_compares_with_the_previous_window():
    rows = [("R.1.0", "2026-05", "sexual_abuse", 12), ("R.1.0", "2025-05", "sexual_abuse", 1),
            ("R.1.1", "2026-05", "sexual_abuse", 2), ("R.2.0", "2025-05", "sexual_abuse", 9)]
    t = run(cases=cases(rows)).table.set_index("code")
    assert t.loc["R.1.0", "trend"] == "intensifying"
    assert t.loc["R.1.1", "trend"] == "new"
    assert t.loc["R.2.0", "trend"] == "diminishing"
    assert t.loc["R.2.1", "trend"] == "none"
    assert any(d.startswith("rising: 12 reports, 1 before") for d in t.loc["R.1.0", "drivers"])
    assert "new reports this window (2)" in t.loc["R.1.1", "drivers"]
    assert t.loc["R.1.0", "tier"] in ("moderate", "high")


def test_drivers_and_flags_speak_indonesian():
    t = run(language="id").table.set_index("code")
    assert "sedikit anak (100)" in t.loc["R.1.3", "flags"]


def test_it_rejects_bad_settings_naming_them():
    with pytest.raises(ValueError, match="burden_weight"):
        run(burden_weight=2)
    with pytest.raises(ValueError, match="level: expected one of the levels"):
        run(level=7)


@pytest.fixture(scope="module")
def world_result():
    world = make_world(11)
    settings = RiskSettings(seed=5, permutations=999)
    return world, score_areas(world.areas, world.population, world.cases, world.factors,
                              world.boundaries, settings)


def test_a_full_run_gives_every_output_column_and_no_nan_scores(world_result):
    _world, result = world_result
    t = result.table
    for column in ("code", "name", "level", "children", "cases", "crude_rate",
                   "smoothed_rate", "rate_low", "rate_high", "expected_cases",
                   "relative_risk", "hotspot", "trend", "score", "tier", "drivers", "flags"):
        assert column in t.columns
    assert t["score"].notna().all() and t["smoothed_rate"].notna().all()
    assert set(t["tier"]) <= {"high", "moderate", "low"}
    assert set(t["hotspot"]) <= {"hot", "cold", ""}
    assert (t["hotspot"] == "hot").any()


def test_factor_drivers_name_the_factor_and_its_multiplier(world_result):
    world, result = world_result
    t = result.table.set_index("code")
    ferry = world.factors.query("factor == 'ferry_port' and value == 1")["code"]
    texts = [d for code in ferry for d in t.loc[code, "drivers"]]
    assert any(d.startswith("ferry port: ×") for d in texts)


def test_results_are_reproducible_with_a_seed(world_result):
    world, result = world_result
    again = score_areas(world.areas, world.population, world.cases, world.factors,
                        world.boundaries, RiskSettings(seed=5, permutations=999))
    pd.testing.assert_frame_equal(result.table, again.table)

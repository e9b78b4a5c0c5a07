"""Contiguity weights, global and local spatial statistics against PySAL and published values.

"Published" values are those printed in the PySAL documentation and test suite of the
installed packages (esda 2.x, libpysal 4.x), on the example data sets shipped inside
libpysal: St. Louis homicides (``stl``), North Carolina SIDS (``sids2``), Columbus crime
(``columbus``) and de Smith's ten-area example (``desmith``).
"""

import itertools
import warnings

import numpy as np
import pyogrio
import pytest
import shapely
from esda.getisord import G_Local
from esda.moran import Moran, Moran_Local
from libpysal import examples, weights
from libpysal import io as psio
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse, stats

from cegah.risk.hotspots import (
    LocalHotspots,
    _distinct_draws,
    _null_sample,
    _tail_counts,
    global_moran,
)
from cegah.risk.weights import contiguity, islands, neighbour_counts

SHAPEFILES = {"columbus": "columbus.shp", "sids2": "sids2.shp", "stl": "stl_hom.shp"}


def _geometries(name):
    # pyogrio.raw returns the geometries as WKB; no geopandas needed.
    return shapely.from_wkb(pyogrio.raw.read(examples.get_path(SHAPEFILES[name]))[2])


def _column(filename, column):
    return np.array(psio.open(examples.get_path(filename)).by_col(column), dtype=float)


def _neighbour_sets(adj):
    adj = sparse.csr_matrix(adj)
    return [set(adj.indices[adj.indptr[i]:adj.indptr[i + 1]].tolist())
            for i in range(adj.shape[0])]


def _gal(filename):
    w = psio.open(examples.get_path(filename)).read()
    return sparse.csr_matrix((w.sparse != 0).astype(float))


def _boxes(nx, ny):
    x, y = np.meshgrid(np.arange(nx, dtype=float), np.arange(ny, dtype=float))
    return shapely.box(x.ravel(), y.ravel(), x.ravel() + 1, y.ravel() + 1)


@pytest.fixture(scope="module")
def stl():
    # HR8893: homicide rate 1988-93 per 100,000, 78 counties around St. Louis.
    return _column("stl_hom.dbf", "HR8893"), contiguity(_geometries("stl"), kind="rook")


# --- contiguity -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SHAPEFILES))
@pytest.mark.parametrize(("kind", "reference"), [("queen", weights.Queen),
                                                 ("rook", weights.Rook)])
def test_it_finds_the_same_neighbours_as_libpysal(name, kind, reference):
    geoms = _geometries(name)
    ours = contiguity(geoms, kind=kind)
    theirs = reference.from_iterable(list(geoms))
    assert _neighbour_sets(ours) == [set(theirs.neighbors[i]) for i in range(len(geoms))]
    assert (ours != ours.T).nnz == 0
    assert np.all(ours.diagonal() == 0) and np.all(ours.data == 1.0)


@pytest.mark.parametrize(("name", "kind", "gal"), [
    ("columbus", "queen", "columbus.gal"),  # GeoDa queen file shipped with the data set
    ("stl", "rook", "stl.gal"),             # the weights of esda's published Moran example
    ("sids2", "rook", "sids2.gal"),
])
def test_it_reproduces_the_weights_files_shipped_with_the_data(name, kind, gal):
    assert (contiguity(_geometries(name), kind=kind) != _gal(gal)).nnz == 0


def test_it_tells_queen_from_rook_on_a_grid():
    adj_queen = contiguity(_boxes(3, 3), kind="queen")
    adj_rook = contiguity(_boxes(3, 3), kind="rook")
    assert _neighbour_sets(adj_queen)[4] == {0, 1, 2, 3, 5, 6, 7, 8}
    assert _neighbour_sets(adj_rook)[4] == {1, 3, 5, 7}
    assert_array_equal(neighbour_counts(adj_queen), [3, 5, 3, 5, 8, 5, 3, 5, 3])


def test_it_handles_holes_multipolygons_missing_and_signed_zero():
    hole = shapely.Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (2, 1), (2, 2), (1, 2)]])
    plug = shapely.box(1, 1, 2, 2)                     # fills the hole
    # The first part runs along the square's side from (4, 0) to (4, 1), but the square has
    # no vertex at (4, 1): a T-junction, so rook (vertex pairs, as libpysal) sees no edge.
    two_parts = shapely.MultiPolygon([shapely.box(4, 0, 5, 1), shapely.box(10, 10, 11, 11)])
    touching = shapely.box(11, 11, 12, 12)             # touches the second part at a corner
    signed = shapely.Polygon([(-1, -0.0), (-0.0, -0.0), (-0.0, -1), (-1, -1)])
    geoms = [hole, plug, two_parts, touching, None, shapely.Polygon(), signed]
    queen = _neighbour_sets(contiguity(geoms))
    rook = _neighbour_sets(contiguity(geoms, kind="rook"))
    assert queen[0] == {1, 2, 6} and rook[0] == {1}
    assert queen[2] == {0, 3} and rook[2] == set()
    assert queen[4] == queen[5] == set()
    assert_array_equal(islands(contiguity(geoms, kind="rook")), [2, 3, 4, 5, 6])


def test_it_snaps_coordinates_only_when_asked():
    geoms = [shapely.box(0, 0, 1, 1), shapely.box(1 + 1e-12, 0, 2, 1)]
    assert contiguity(geoms).nnz == 0
    assert contiguity(geoms, kind="rook", precision=1e-9).nnz == 2


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"geometries": [shapely.Point(0, 0)]}, "geometries: expected shapely Polygon"),
    ({"geometries": [shapely.box(0, 0, 1, 1)], "kind": "bishop"}, "kind: expected one of"),
    ({"geometries": [shapely.box(0, 0, 1, 1)], "precision": 0}, "precision: expected"),
])
def test_it_rejects_bad_contiguity_input_naming_the_parameter(kwargs, message):
    geometries = kwargs.pop("geometries")
    with pytest.raises(ValueError, match=message):
        contiguity(geometries, **kwargs)


# --- global Moran's I -------------------------------------------------------------------


def test_it_reproduces_the_published_global_moran_of_stl_homicides(stl):
    # Reference: esda.moran.Moran docstring (``round(mi.I, 3) == 0.244``) and esda's test
    # suite (esda/tests/test_moran.py, TestMoran.test_moran: 0.24365582621771659):
    # HR8893 with the weights of stl.gal (rook contiguity, see the test above),
    # row-standardised (esda's default transformation "r").
    y, adj = stl
    assert round(global_moran(y, adj), 3) == 0.244
    assert_allclose(global_moran(y, adj), 0.24365582621771659, rtol=1e-12)


def test_it_reproduces_the_published_global_moran_of_nc_sids():
    # Reference: esda.moran.Moran docstring (``round(mi.I, 3) == 0.248``) and esda's test
    # suite (TestMoran.test_sids: 0.24772519320480135): SIDR74 (SIDS rate 1974-78) of the
    # 100 North Carolina counties, sids2.gal (rook contiguity), row-standardised.
    adj = contiguity(_geometries("sids2"), kind="rook")
    assert_allclose(global_moran(_column("sids2.dbf", "SIDR74"), adj),
                    0.24772519320480135, rtol=1e-12)


@pytest.mark.parametrize("transform", ["r", "b"])
def test_global_moran_equals_esda_on_columbus_crime(transform):
    adj = contiguity(_geometries("columbus"), kind="queen")
    crime = _column("columbus.dbf", "CRIME")
    w = weights.W.from_sparse(adj)
    assert_allclose(global_moran(crime, adj, transform),
                    Moran(crime, w, transformation=transform.upper(), permutations=0).I,
                    rtol=1e-12)


# --- local statistics -------------------------------------------------------------------


def test_it_reproduces_the_published_local_moran_quadrants():
    # Reference: esda.moran.Moran_Local docstring, de Smith's example (desmith.gal,
    # variable z), row-standardised: ``lm.q == [4, 4, 4, 2, 3, 3, 1, 4, 3, 3]``
    # (PySAL quadrants: 1 HH, 2 LH, 3 LL, 4 HL).
    y = _column("desmith.txt", "z")
    hot = LocalHotspots(permutations=99, seed=0).fit(y, _gal("desmith.gal"))
    assert_array_equal(hot.moran_quadrant_, [4, 4, 4, 2, 3, 3, 1, 4, 3, 3])


def test_it_reproduces_the_published_gi_and_gi_star_z_scores():
    # Reference: esda.getisord.G_Local docstring, "Getis and Ord local G* test using a
    # binary weights object": six points, DistanceBand(threshold=15), star=True,
    # transform="B".
    points = [(10, 10), (20, 10), (40, 10), (15, 20), (30, 20), (30, 30)]
    adj = weights.DistanceBand(points, threshold=15, silence_warnings=True).sparse
    hot = LocalHotspots(permutations=99, seed=0).fit([2, 3, 3.2, 5, 8, 7], adj)
    published = [-1.39727626, -0.28917762, 0.65064964, -0.28917762, 1.23452088, 2.02424331]
    assert_allclose(hot.gi_z_, published, atol=5e-9)
    # Same docstring, "Getis and Ord local G test using a binary weights object" (Gi,
    # the point itself left out, star=False, transform="B").
    published_gi = [-1.0136729, -0.04361589, 1.31558703, -0.31412676, 1.15373986,
                    1.77833941]
    assert_allclose(hot.g_z_, published_gi, atol=5e-9)


@pytest.mark.parametrize(("name", "kind", "dbf", "column"), [
    ("columbus", "queen", "columbus.dbf", "CRIME"),
    ("stl", "rook", "stl_hom.dbf", "HR8893"),
    ("sids2", "queen", "sids2.dbf", "SIDR79"),
])
def test_local_statistics_equal_esda(name, kind, dbf, column):
    adj = contiguity(_geometries(name), kind=kind)
    y = _column(dbf, column)
    w = weights.W.from_sparse(adj)
    hot = LocalHotspots(permutations=99, seed=0).fit(y, adj)
    moran = Moran_Local(y, w, transformation="r", permutations=0)
    gi = G_Local(y, weights.W.from_sparse(adj), transform="B", star=True, permutations=0)
    assert_allclose(hot.moran_i_, moran.Is, rtol=1e-10, atol=1e-12)
    assert_array_equal(hot.moran_quadrant_, moran.q)
    assert_allclose(hot.gi_, gi.Gs, rtol=1e-10)
    assert_allclose(hot.gi_z_, gi.Zs, rtol=1e-8, atol=1e-10)
    g = G_Local(y, weights.W.from_sparse(adj), transform="B", star=False, permutations=0)
    assert_allclose(hot.g_, g.Gs, rtol=1e-10)
    assert_allclose(hot.g_z_, g.Zs, rtol=1e-8, atol=1e-10)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_permutation_p_values_agree_with_esda(stl):
    # Both use conditional randomisation with 9,999 draws but different random numbers,
    # so the p-values differ by Monte Carlo error: sd <= sqrt(2 * 0.25 / 9999) ~ 0.007.
    y, adj = stl
    hot = LocalHotspots(permutations=9999, fdr=False, seed=7).fit(y, adj)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        esda = Moran_Local(y, weights.W.from_sparse(adj), permutations=9999, seed=7)
    assert np.max(np.abs(hot.moran_p_ - esda.p_sim)) < 0.03
    assert np.mean(np.abs(hot.moran_p_ - esda.p_sim)) < 0.012
    ours, theirs = set(np.flatnonzero(hot.moran_p_ < 0.01)), set(np.flatnonzero(esda.p_sim < 0.01))
    assert len(ours) >= 3 and len(ours ^ theirs) <= 1
    # Same draws, statistics monotone in the neighbours' sum: identical p-values.
    assert_array_equal(hot.moran_p_, hot.gi_p_)


def test_it_is_reproducible_with_a_seed(stl):
    y, adj = stl
    first = LocalHotspots(permutations=999, seed=3).fit(y, adj)
    again = LocalHotspots(permutations=999, seed=3).fit(y, adj)
    other = LocalHotspots(permutations=999, seed=4).fit(y, adj)
    assert_array_equal(first.gi_p_, again.gi_p_)
    assert_array_equal(first.moran_q_value_, again.moran_q_value_)
    assert not np.array_equal(first.gi_p_, other.gi_p_)
    assert np.max(np.abs(first.gi_p_ - other.gi_p_)) < 0.1


# --- the shared-draws trick -------------------------------------------------------------

# SYNTHETIC: six areas with one, two or three neighbours.
SMALL_EDGES = [(0, 1), (1, 2), (2, 3), (3, 4), (2, 5), (4, 5)]


def _small_adjacency():
    rows, cols = np.array(SMALL_EDGES).T
    adj = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(6, 6))
    return adj + adj.T


def test_null_draws_never_include_the_area_itself_and_are_uniform():
    adj = _small_adjacency()
    card = neighbour_counts(adj)
    permutations = 30_000
    draws = _distinct_draws(np.random.default_rng(0), 6, card.max() + 1, permutations)
    for i in range(6):
        sample = _null_sample(draws, card, i)
        assert not np.any(sample == i)
        ordered = np.sort(sample, axis=1)
        assert not np.any(ordered[:, 1:] == ordered[:, :-1])
        # Every k-subset of the five other areas is equally likely.
        subsets = list(itertools.combinations([j for j in range(6) if j != i], card[i]))
        code = {s: c for c, s in enumerate(subsets)}
        observed = np.bincount([code[tuple(row)] for row in ordered.tolist()],
                               minlength=len(subsets))
        assert stats.chisquare(observed).pvalue > 1e-4


def test_tail_counts_equal_brute_force():
    adj = _small_adjacency()
    card = neighbour_counts(adj)
    rng = np.random.default_rng(1)
    draws = _distinct_draws(rng, 6, card.max() + 1, 500)
    for y in (rng.gamma(2.0, size=6), rng.poisson(1.0, size=6).astype(float)):
        observed = adj @ y
        ge, le = _tail_counts(y, observed, card, draws, tol=1e-9)
        for i in range(6):
            sums = y[_null_sample(draws, card, i)].sum(axis=1)
            assert ge[i] == np.sum(sums >= observed[i] - 1e-9)
            assert le[i] == np.sum(sums <= observed[i] + 1e-9)


def test_the_null_of_a_single_nonzero_area_behaves():
    # y = (0, 0, 0, 0, 0, 1): another area's random neighbours include area 5 with
    # probability k / 5; area 5 itself never draws its own value, so its null sum is 0.
    adj = _small_adjacency()
    card = neighbour_counts(adj)
    y = np.r_[np.zeros(5), 1.0]
    permutations = 20_000
    draws = _distinct_draws(np.random.default_rng(2), 6, card.max() + 1, permutations)
    ge, _ = _tail_counts(y, np.ones(6), card, draws, tol=1e-9)
    assert ge[5] == 0
    share = ge[:5] / permutations
    expected = card[:5] / 5
    assert np.all(np.abs(share - expected) < 4 * np.sqrt(expected * (1 - expected)
                                                         / permutations))
    hot = LocalHotspots(permutations=999, seed=0).fit(y, adj)
    assert hot.gi_p_[5] == 1.0  # neighbours sum to 0 like every permutation: no evidence


def test_distinct_draws_are_distinct_on_both_paths():
    for n, m in [(6, 4), (5000, 9)]:  # random keys / rejection sampling
        draws = _distinct_draws(np.random.default_rng(3), n, m, 2000)
        assert draws.shape == (2000, m) and draws.min() >= 0 and draws.max() < n
        ordered = np.sort(draws, axis=1)
        assert not np.any(ordered[:, 1:] == ordered[:, :-1])


# --- behaviour on synthetic maps -----------------------------------------------------------


def test_it_finds_a_planted_hot_spot_after_fdr():
    # SYNTHETIC: a 20 x 20 grid with Poisson(2) reports and a 4 x 4 block at Poisson(15).
    rng = np.random.default_rng(11)
    adj = contiguity(_boxes(20, 20))
    values = rng.poisson(2.0, 400).astype(float)
    block = (np.arange(400) // 20 >= 8) & (np.arange(400) // 20 < 12) & \
        (np.arange(400) % 20 >= 8) & (np.arange(400) % 20 < 12)
    values[block] = rng.poisson(15.0, int(block.sum()))
    hot = LocalHotspots(permutations=9999, seed=0).fit(values, adj)
    found = hot.hotspot_ == "hot"
    assert found[block].mean() >= 0.75
    assert found[~block].sum() <= 12  # only cells touching the block
    assert set(hot.cluster_[block]) <= {"high-high", ""}
    assert (hot.cluster_[block] == "high-high").mean() >= 0.5
    assert np.all(hot.gi_q_value_ >= hot.gi_p_)


def test_isolates_get_neutral_finite_results():
    geoms = list(_boxes(3, 3)) + [shapely.box(50, 50, 51, 51), None]
    adj = contiguity(geoms)
    assert_array_equal(islands(adj), [9, 10])
    values = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 40, 0], dtype=float)
    hot = LocalHotspots(permutations=199, fdr=False, alpha=0.5, seed=0).fit(values, adj)
    for name in ("moran_i_", "moran_p_", "moran_q_value_", "gi_", "gi_z_", "gi_p_",
                 "gi_q_value_"):
        assert np.all(np.isfinite(getattr(hot, name))), name
    isolated = [9, 10]
    assert_array_equal(hot.moran_i_[isolated], 0.0)
    assert_array_equal(hot.gi_z_[isolated], 0.0)
    assert_array_equal(hot.gi_p_[isolated], 1.0)
    assert_array_equal(hot.moran_p_[isolated], 1.0)
    assert_array_equal(hot.gi_q_value_[isolated], 1.0)
    assert_array_equal(hot.moran_quadrant_[isolated], 0)
    assert list(hot.hotspot_[isolated]) == ["", ""] and list(hot.cluster_[isolated]) == ["", ""]
    assert hot.isolate_.sum() == 2


def test_constant_values_give_no_hot_spots():
    adj = contiguity(_boxes(4, 4))
    for level in (0.0, 3.0):
        hot = LocalHotspots(permutations=99, seed=0).fit(np.full(16, level), adj)
        assert_array_equal(hot.moran_i_, 0.0)
        assert_array_equal(hot.gi_z_, 0.0)
        assert_array_equal(hot.gi_p_, 1.0)
        assert_allclose(hot.gi_, (neighbour_counts(adj) + 1) / 16)
        assert set(hot.hotspot_) == {""} and set(hot.cluster_) == {""}


@pytest.mark.parametrize(("values", "adjacency", "settings", "message"), [
    ([1, 2, 3], sparse.eye(4, k=1, format="csr"), {}, "same areas; got 3 values"),
    ([1, 2, 3], sparse.csr_matrix((3, 4)), {}, r"adjacency: expected a square"),
    ([1, np.nan, 3], sparse.csr_matrix((3, 3)), {}, "values: expected finite numbers; area "
                                                    "at position 1"),
    ([1, 2, 3], sparse.csr_matrix(np.full((3, 3), 0.5) - np.eye(3) / 2), {},
     r"adjacency: expected a binary \(0/1\)"),
    ([1, 2, 3], sparse.eye(3, format="csr"), {}, "adjacency: expected no self-neighbours"),
    ([1, 2, 3], sparse.csr_matrix((3, 3)), {"permutations": 0}, "permutations: expected a "
                                                                "positive integer, got 0"),
    ([1, 2, 3], sparse.csr_matrix((3, 3)), {"alpha": 1.5}, r"alpha: expected a probability"),
    ([1, 2, 3], sparse.csr_matrix((3, 3)), {"seed": "x"}, "seed: expected None"),
])
def test_it_rejects_bad_input_naming_the_parameter(values, adjacency, settings, message):
    with pytest.raises(ValueError, match=message):
        LocalHotspots(**settings).fit(values, adjacency)


def test_global_moran_rejects_bad_transform():
    with pytest.raises(ValueError, match="transform: expected 'r' or 'b', got 'x'"):
        global_moran([1.0, 2.0], sparse.csr_matrix((2, 2)), transform="x")


def test_the_spatial_modules_never_import_django():
    import subprocess
    import sys

    code = ("import sys, cegah.risk.weights, cegah.risk.hotspots; "
            "sys.exit(any(m == 'django' or m.startswith('django.') for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0

"""The straightforward esda pipeline that ``bench_risk.py`` compares ``cegah risk score`` with.

What an analyst would write with the PySAL stack on its defaults, run as its own
cold-start process:

1. read the village polygons from the GeoPackage (pyogrio + shapely; geopandas is not a
   dependency of this project), build ``libpysal.weights.Queen`` contiguity from them;
2. read the case counts and the child population with pandas, sum the 12 months up to
   ``--as-of`` per village and take that year's children;
3. ``esda.Moran_Local(rate, w, permutations=999)`` (row-standardised, keeps every
   permutation: n x 999 floats);
4. ``esda.G_Local(rate, w, star=True, permutations=999)`` (likewise);
5. ``esda.smoothing.Spatial_Empirical_Bayes(events, children, w)``;
6. write one CSV row per village.

Each stage's wall time and the peak RSS so far are printed as ``stage NAME SECONDS MB``
lines, then ``numba yes|no``: without numba installed, esda's permutation kernels run as
plain Python; with it, they are compiled in every new process.

    .venv/bin/python benchmarks/_esda_baseline.py --population P --cases C \
        --boundaries B --as-of 2026-10 --out OUT.csv [--seed 1]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

_T0 = time.perf_counter()
_last = _T0


def stage(name: str) -> None:
    global _last
    now = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"stage {name} {now - _last:.3f} {rss:.0f}", flush=True)
    _last = now


def _window(as_of: str, months: int = 12) -> tuple[str, str]:
    y, m = (int(x) for x in as_of.split("-"))
    first = y * 12 + (m - 1) - (months - 1)
    return f"{first // 12:04d}-{first % 12 + 1:02d}", f"{y:04d}-{m:02d}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--population", type=Path, required=True)
    parser.add_argument("--cases", type=Path, required=True)
    parser.add_argument("--boundaries", type=Path, required=True)
    parser.add_argument("--as-of", default="2026-10")
    parser.add_argument("--permutations", type=int, default=999)
    parser.add_argument("--seed", type=int, default=None,
                        help="seed for esda's permutations (default: esda's, none)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    import esda
    import libpysal
    import numpy as np
    import pandas as pd
    import shapely
    from esda.smoothing import Spatial_Empirical_Bayes
    from pyogrio.raw import read

    try:
        import numba  # noqa: F401

        has_numba = True
    except ImportError:
        has_numba = False
    stage("import")

    _meta, _fids, wkb, fields = read(str(args.boundaries), columns=["code"])
    codes = [str(c) for c in fields[0]]
    shapes = shapely.from_wkb(wkb)
    stage("read_boundaries")

    w = libpysal.weights.Queen.from_iterable(shapes, ids=codes)
    w.id_order = codes  # Spatial_Empirical_Bayes insists on it being set
    stage("queen_weights")

    first, last = _window(args.as_of)
    cases = pd.read_csv(args.cases, dtype={"code": str, "period": str})
    window = cases[(cases["period"] >= first) & (cases["period"] <= last)]
    events = window.groupby("code")["count"].sum().reindex(codes, fill_value=0)
    pop = pd.read_csv(args.population, dtype={"code": str})
    pop = pop[pop["year"] == int(args.as_of[:4])].set_index("code")["children"]
    children = pop.reindex(codes).to_numpy(dtype=float)
    e = events.to_numpy(dtype=float)
    rate = e / children * 1e5
    stage("read_data")

    lisa = esda.Moran_Local(rate, w, permutations=args.permutations, seed=args.seed)
    stage("moran_local")

    g = esda.G_Local(rate, w, star=True, permutations=args.permutations, seed=args.seed)
    stage("g_local")

    seb = Spatial_Empirical_Bayes(e, children, w)
    stage("spatial_eb")

    pd.DataFrame({
        "code": codes, "events": e.astype(int), "children": children, "rate": rate,
        "seb_rate": np.asarray(seb.r).ravel() * 1e5,
        "moran_i": lisa.Is, "moran_quadrant": lisa.q, "moran_p_sim": lisa.p_sim,
        "g_z": g.Zs, "g_p_sim": g.p_sim,
    }).to_csv(args.out, index=False)
    stage("write")
    print(f"numba {'yes' if has_numba else 'no'}")
    print(f"areas {w.n} mean_neighbours {w.mean_neighbors:.2f} islands {len(w.islands)}")
    print(f"total {time.perf_counter() - _T0:.3f}", file=sys.stderr)


if __name__ == "__main__":
    main()

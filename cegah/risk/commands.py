"""``cegah risk score`` and ``cegah risk factors``: the risk engine on files.

These commands never start Django: they read files, score, and write one output file
(atomically, and only when every input is valid).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2

LEVELS = {
    "province": 1, "provinsi": 1,
    "regency": 2, "kabupaten": 2, "kota": 2, "kabupaten/kota": 2,
    "district": 3, "kecamatan": 3,
    "village": 4, "desa": 4, "kelurahan": 4, "desa/kelurahan": 4,
}


class StepDisplay:
    """Prints each step with the time since the start on stderr (``--quiet`` hides it)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.start = time.perf_counter()

    def __call__(self, step: str) -> None:
        if not self.quiet:
            sys.stderr.write(f"[{time.perf_counter() - self.start:5.1f}s] {step} ...\n")
            sys.stderr.flush()


def _level(value: str | None) -> int | None:
    if value is None:
        return None
    key = value.strip().lower()
    if key in LEVELS:
        return LEVELS[key]
    if key.isdigit() and int(key) >= 1:
        return int(key)
    raise argparse.ArgumentTypeError(
        f"expected village, district, regency, province or a level number, got {value!r}")


def add_arguments(p: argparse.ArgumentParser, *, outputs: str) -> None:
    p.add_argument("--areas", help="areas file (code, name, level, parent_code); default: "
                   "the built-in Indonesian hierarchy (Kemendagri codes)")
    p.add_argument("--population", required=True, help="child population (code, year, children)")
    p.add_argument("--cases", required=True, help="case counts (code, period, category, count)")
    p.add_argument("--factors", help="risk factors (code, factor, value[, year])")
    p.add_argument("--boundaries", help="GeoJSON, GeoPackage or Shapefile with a code property")
    p.add_argument("--level", type=_level, help="village | district | regency | province "
                   "(default: the deepest level with children)")
    p.add_argument("--window", type=int, default=12, help="months per window (default 12)")
    p.add_argument("--as-of", help="last month of the window, YYYY-MM (default: latest case)")
    p.add_argument("--seed", type=int, help="random seed for the permutation tests")
    p.add_argument("--permutations", type=int, default=999,
                   help="permutations for the hotspot tests (default 999)")
    p.add_argument("--family", choices=("auto", "poisson", "negative_binomial"), default="auto",
                   help="count model family (default: chosen by BIC)")
    p.add_argument("--allow-missing-population", action="store_true",
                   help="score areas with cases but no children (flagged) instead of refusing")
    p.add_argument("--language", choices=("en", "id"), default="en",
                   help="language of drivers and flags (default en)")
    p.add_argument("--out", required=outputs == "required", help=f"output file ({outputs})")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE",
                   help="override a method threshold, e.g. high_score=2 (see "
                        "docs/risk-method.md); may be repeated")


_NOT_SETTINGS = ("categories", "level", "as_of", "extra_languages")  # options, not thresholds


def _settings(args):
    from dataclasses import fields

    from cegah.risk.score import RiskSettings

    s = RiskSettings(level=args.level, window=args.window, as_of=args.as_of, seed=args.seed,
                     permutations=args.permutations, family=args.family,
                     allow_missing_population=args.allow_missing_population,
                     language=args.language)
    types = {f.name: f.type for f in fields(RiskSettings)}
    for item in args.setting:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or name not in types or name in _NOT_SETTINGS:
            raise ValueError(f"--setting: expected NAME=VALUE with NAME one of the method "
                             f"settings, got {item!r}.")
        kind = str(types[name])
        try:
            if "bool" in kind:
                parsed = {"true": True, "false": False, "1": True, "0": False}[value.lower()]
            elif "float" in kind:
                parsed = float(value)
            elif "int" in kind:
                parsed = int(value)
            else:
                parsed = value
        except (KeyError, ValueError):
            raise ValueError(f"--setting {name}: expected a {kind}, got {value!r}.") from None
        setattr(s, name, parsed)
    s.check()
    return s


def _read_inputs(args, say):
    from cegah.risk import io

    say("reading inputs")
    areas = io.read_areas(args.areas) if args.areas else io.builtin_areas()
    population = io.read_population(args.population, areas)
    cases = io.read_cases(args.cases, areas, as_of=args.as_of)
    if not args.areas:
        # The built-in hierarchy covers the whole country: score only the parts of it the
        # files speak about (their areas and the ancestors of those).
        codes = set(population["code"]) | set(cases["code"])
        if not io.looks_like_kemendagri(sorted(codes)[:1000]):
            raise ValueError("--areas: the codes are not Kemendagri codes; give an areas file.")
        areas = io.builtin_areas(sorted(codes))
    factors = io.read_factors(args.factors, areas) if args.factors else None
    boundaries = io.read_boundaries(args.boundaries, areas) if args.boundaries else None
    return areas, population, cases, factors, boundaries


def _run(args, *, what: str) -> int:
    from cegah.risk import io
    from cegah.risk.score import DataProblem, score_areas

    say = StepDisplay(args.quiet)
    try:
        fmt = io.check_output_path(args.out) if args.out else None
        if what == "score" and fmt == "geojson" and not args.boundaries:
            raise ValueError("--out: GeoJSON output needs --boundaries.")
        settings = _settings(args)
        areas, population, cases, factors, boundaries = _read_inputs(args, say)
        if what == "factors" and factors is None:
            raise ValueError("--factors: the factor table needs a factors file.")
        result = score_areas(areas, population, cases, factors, boundaries, settings, say)
    except io.InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("No output was written.", file=sys.stderr)
        return EXIT_INVALID
    except DataProblem as exc:
        names = {"cases": args.cases, "population": args.population}
        for kind, line, message in exc.problems[:20]:
            where = Path(names.get(kind, kind)).name
            print(f"error: {where}" + (f", line {line}" if line else "") + f": {message}",
                  file=sys.stderr)
        if len(exc.problems) > 20:
            print(f"error: ... and {len(exc.problems) - 20} more problems", file=sys.stderr)
        print("No output was written.", file=sys.stderr)
        return EXIT_INVALID
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("No output was written.", file=sys.stderr)
        return EXIT_INVALID

    say("writing")
    meta = result.metadata
    if what == "factors":
        table = result.factors
        if not args.out:
            _print_factors(table, meta)
            return EXIT_OK
        io.write_table(table, args.out, metadata=meta)
        print(f"{args.out}: {len(table)} factors ({meta['model'].get('family', '-')} model)")
        return EXIT_OK
    geometries = None
    if fmt == "geojson" and boundaries is not None:
        geometries = dict(zip(boundaries[0], boundaries[1], strict=True))
    io.write_table(result.table, args.out, geometries=geometries, metadata=meta)
    tiers = meta["tiers"]
    print(f"{args.out}: {meta['areas']:,} {meta['level']} areas, window {meta['window']['from']}"
          f"..{meta['window']['to']}; high {tiers['high']:,}, moderate {tiers['moderate']:,}, "
          f"low {tiers['low']:,}" + (f", unknown {tiers['unknown']:,}" if tiers["unknown"]
                                     else ""))
    return EXIT_OK


def _print_factors(table, meta) -> None:
    model = meta.get("model") or {}
    print(f"count model: {model.get('family', '-')}; selected: "
          f"{', '.join(model.get('selected', [])) or 'none'}")
    print(f"{'factor':28} {'RR':>7} {'low':>7} {'high':>7} {'p':>9}  unit  selected")
    for row in table.itertuples(index=False):
        print(f"{row.factor:28} {row.relative_risk:7.2f} {row.low:7.2f} {row.high:7.2f} "
              f"{row.p:9.2g}  {row.unit}  {'yes' if row.selected else 'no'}")


def cmd_risk_score(args) -> int:
    return _run(args, what="score")


def cmd_risk_factors(args) -> int:
    return _run(args, what="factors")


def add_parsers(sub):
    """Add ``cegah risk score|factors``; returns the ``risk`` subparsers for more."""
    risk = sub.add_parser("risk", help="score areas: tiers, drivers and flags")
    rsub = risk.add_subparsers(dest="risk_command", required=True)
    s = rsub.add_parser("score", help="score every area of one level",
                        description="Score every area of one level from files; see "
                                    "docs/risk-method.md for the method.")
    add_arguments(s, outputs="required")
    s.set_defaults(func=cmd_risk_score, no_django=True)
    s = rsub.add_parser("factors", help="the fitted factor table: factor, relative_risk, "
                                        "low, high, p")
    add_arguments(s, outputs="optional: .csv or .json; printed when omitted")
    s.set_defaults(func=cmd_risk_factors, no_django=True)
    return rsub


"""Area boundaries: checking a GeoJSON, GeoPackage or Shapefile keyed on area code, and
preparing the geometries that ``Area.geometry`` stores for the map.

:func:`check_boundaries` reads a file with :func:`cegah.risk.io.read_boundaries` (which
checks the ``code`` property and the geometry of every feature and repairs invalid
polygons), brings the coordinates to WGS 84 longitude/latitude, rejects coordinates out of
range, fills in parents that have no boundary of their own from their children (when all
their children have one), simplifies each level for display and works out what would
change. It writes nothing: :func:`cegah.areas.actions.do_import_boundaries` applies the
plan in one transaction.

Stored geometries are GeoJSON geometry objects (WGS 84, counter-clockwise outer rings,
coordinates rounded to :data:`DECIMALS` places). Each level is simplified as one coverage
(``shapely.coverage_simplify``), so neighbours keep sharing their border vertex for vertex:
the map shows no gaps and the risk engine still finds them as neighbours. Two optional
GeoJSON members lead the text, in this order (RFC 7946 allows such "foreign members"; map
libraries ignore them):

* ``"illustrative": true`` — generated for the demo, not a real boundary
  (:data:`ILLUSTRATIVE_PREFIX`, :func:`is_illustrative`, :func:`illustrative_q`);
* ``"dissolved": true`` — the union of the area's children, made by the import, and
  remade when they change (:func:`is_dissolved`).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.db.models import Q
from django.utils.translation import gettext as _

from cegah.areas.models import Area, Level

# Display simplification tolerance per level, in degrees (0.001 degree is about 110 m).
SIMPLIFY_TOLERANCE: dict[int, float] = {
    Level.PROVINCE: 0.01,
    Level.REGENCY: 0.003,
    Level.DISTRICT: 0.001,
    Level.VILLAGE: 0.0002,
}
# Decimal places kept in stored coordinates (6 places: about 0.1 m).
DECIMALS = 6
# A hole smaller than this many squared tolerances in a dissolved parent is a gap between
# its children's boundaries (a digitising sliver), not an enclave: it is filled.
SLIVER_HOLE_FACTOR = 4.0
# Problems kept in a plan (all are counted).
MAX_PROBLEMS = 1000
# Files the web upload takes (a Shapefile comes zipped with its .shx, .dbf and .prj).
UPLOAD_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip")

ILLUSTRATIVE_MEMBER = '"illustrative":true'
DISSOLVED_MEMBER = '"dissolved":true'
ILLUSTRATIVE_PREFIX = "{" + ILLUSTRATIVE_MEMBER
_DISSOLVED_PREFIXES = ("{" + DISSOLVED_MEMBER, ILLUSTRATIVE_PREFIX + "," + DISSOLVED_MEMBER)

_WRITE_CHUNK = 2000  # codes per query when reading stored geometries

Progress = Callable[[str, int, int], None]  # (stage, done, total)


def is_illustrative(text: str | None) -> bool:
    """Whether a stored geometry was generated (the demo's), not a real boundary."""
    return bool(text) and text.startswith(ILLUSTRATIVE_PREFIX)


def is_dissolved(text: str | None) -> bool:
    """Whether a stored geometry is the union of its area's children, made by an import."""
    return bool(text) and text.startswith(_DISSOLVED_PREFIXES)


def illustrative_q(field_name: str = "geometry") -> Q:
    """Areas whose stored boundary is illustrative (generated, not real)."""
    return Q(**{f"{field_name}__startswith": ILLUSTRATIVE_PREFIX})


def illustrative_boundaries_exist() -> bool:
    return Area.objects.filter(illustrative_q()).exists()


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class FeatureProblem:
    """A problem with one feature (numbered from 1 in file order) or the whole file."""

    filename: str
    feature: int | None
    message: str

    def __str__(self) -> str:
        return self.text()

    def text(self, filename: str | None = None) -> str:
        """``file, feature N: problem`` (``filename`` instead of the plan's, e.g. a path)."""
        where = _("feature %(n)s") % {"n": self.feature} if self.feature else ""
        place = ", ".join(p for p in (filename or self.filename, where) if p)
        return f"{place}: {self.message}"


@dataclass
class LevelCounts:
    new: int = 0  # areas that had no boundary
    replaced: int = 0  # areas whose boundary changes
    unchanged: int = 0
    dissolved: int = 0  # of the above, parents filled in from their children

    @property
    def total(self) -> int:
        return self.new + self.replaced + self.unchanged

    def as_dict(self) -> dict[str, int]:
        return {"new": self.new, "replaced": self.replaced, "unchanged": self.unchanged,
                "dissolved": self.dissolved}


@dataclass
class BoundaryPlan:
    """What importing a boundary file would do; ``geometries`` holds only what changes."""

    filename: str
    sha256: str
    dissolve: bool = True
    illustrative: bool = False
    features: int = 0
    problems: list[FeatureProblem] = field(default_factory=list)
    problem_count: int = 0
    reprojected_from: str | None = None
    geometries: dict[str, str] = field(default_factory=dict)  # code -> stored text
    counts: dict[str, LevelCounts] = field(
        default_factory=lambda: {lvl.key: LevelCounts() for lvl in Level})
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def changes(self) -> int:
        return len(self.geometries)

    def add_problem(self, feature: int | None, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(FeatureProblem(self.filename, feature, message))

    def summary(self) -> dict[str, Any]:
        """Counts for the audit trail and the screens (never the geometries)."""
        return {
            "file": self.filename, "sha256": self.sha256, "features": self.features,
            "dissolve": self.dissolve, "illustrative": self.illustrative,
            "reprojected_from": self.reprojected_from,
            "levels": {key: c.as_dict() for key, c in self.counts.items() if c.total},
            "changed": self.changes,
        }


# --------------------------------------------------------------------------- checking


def check_boundaries(
    source: str | os.PathLike | bytes, filename: str | None = None, *,
    dissolve: bool = True, progress: Progress | None = None,
) -> BoundaryPlan:
    """Check a boundary file and work out what importing it would change; writes nothing.

    Parameters
    ----------
    source : path, or the file's bytes
        GeoJSON (``.geojson``/``.json``), GeoPackage (``.gpkg``, first layer), Shapefile
        (``.shp``, or a ``.zip`` holding one). Bytes need ``filename`` (its suffix tells
        the format).
    dissolve : bool
        Fill in each parent without a boundary of its own (district, regency, province)
        from its children's, when all its children have one.

    Returns
    -------
    BoundaryPlan
        ``ok`` is false when any feature (or the whole file) has a problem; each problem
        names the file, the feature and what is wrong.
    """
    start = time.monotonic()
    if isinstance(source, bytes | bytearray | memoryview):
        if not filename:
            raise ValueError("filename is needed with the file's bytes")
        with tempfile.TemporaryDirectory(prefix="cegah-boundaries-") as tmp:
            path = Path(tmp) / _safe_name(filename)
            path.write_bytes(bytes(source))
            plan = _check_path(path, filename, bytes(source), dissolve, progress)
    else:
        path = Path(source)
        plan = _check_path(path, filename or path.name, path, dissolve, progress)
    plan.seconds = time.monotonic() - start
    return plan


def _safe_name(filename: str) -> str:
    name = Path(filename.replace("\\", "/")).name
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip(".") or "upload"
    return name[-120:]


def _sha256(data: bytes | Path) -> str:
    if isinstance(data, bytes):
        return hashlib.sha256(data).hexdigest()
    digest = hashlib.sha256()
    if data.is_file():
        with data.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _check_path(path: Path, filename: str, data: bytes | Path, dissolve: bool,
                progress: Progress | None) -> BoundaryPlan:
    from cegah.risk.io import InputError, read_boundaries

    name = Path(filename).name
    plan = BoundaryPlan(filename=name, sha256=_sha256(data), dissolve=dissolve)
    known = dict(Area.objects.values_list("code", "level"))
    if progress:
        progress("read", 0, 1)
    codes = geoms = None
    try:
        codes, geoms = read_boundaries(path, known.keys())
    except InputError as exc:
        for _path_name, where, message in exc.problems:
            plan.add_problem(_feature_number(where), translate_problem(message))
        plan.problem_count = max(plan.problem_count, exc.total)
    if progress:
        progress("read", 1, 1)
    whole_file = any(p.feature is None for p in plan.problems)
    if whole_file:
        return plan
    crs = _file_crs(path)
    flagged = {p.feature for p in plan.problems}
    if geoms is None:
        # Coordinates are checked too, so that one round of corrections is enough.
        geoms = _geometries_only(path)
        if geoms is None:
            return plan
    plan.features = len(geoms)
    geoms, crs_problem, plan.reprojected_from = to_wgs84(geoms, crs)
    if crs_problem:
        plan.add_problem(None, crs_problem)
        return _sorted(plan)
    for i, message in coordinate_problems(geoms):
        if i + 1 not in flagged:
            plan.add_problem(i + 1, message)
    if codes is not None:
        import shapely

        for i in np.flatnonzero(shapely.is_missing(geoms)):
            plan.add_problem(int(i) + 1, _("no polygon is left after converting the "
                                           "coordinates to WGS 84."))
    if not plan.ok:
        return _sorted(plan)
    return plan_boundaries(codes, geoms, plan=plan, known=known, progress=progress)


def _sorted(plan: BoundaryPlan) -> BoundaryPlan:
    plan.problems.sort(key=lambda p: p.feature or 0)
    return plan


def _feature_number(where: Any) -> int | None:
    if isinstance(where, str):
        m = re.fullmatch(r"feature (\d+)", where)
        return int(m.group(1)) if m else None
    return int(where) if where else None


def _file_crs(path: Path) -> str | None:
    import pyogrio

    try:
        return pyogrio.read_info(path).get("crs") or None
    except Exception:  # noqa: BLE001 - unreadable files are reported by read_boundaries
        return None


def _geometries_only(path: Path):
    import pyogrio
    import shapely

    try:
        _meta, _fids, wkb, _fields = pyogrio.raw.read(path, columns=[], force_2d=True)
    except Exception:  # noqa: BLE001
        return None
    geoms = shapely.from_wkb(np.asarray(wkb, dtype=object), on_invalid="ignore")
    kinds = shapely.get_type_id(geoms)
    geoms[~np.isin(kinds, (3, 6))] = None  # only polygons are checked further
    return geoms


# --------------------------------------------------------------------------- coordinates

_WGS84_NAMES = ("EPSG:4326", "OGC:CRS84", "CRS84", "urn:ogc:def:crs:OGC:1.3:CRS84",
                "urn:ogc:def:crs:EPSG::4326")


def _is_wgs84_text(crs: str) -> bool:
    return crs.strip() in _WGS84_NAMES


def _crs_label(crs: str) -> str:
    if len(crs) <= 40:
        return crs
    try:
        import pyproj

        found = pyproj.CRS.from_user_input(crs)
        auth = found.to_authority()
        return ":".join(auth) if auth else found.name[:60]
    except Exception:  # noqa: BLE001
        return crs[:40] + "…"


def to_wgs84(geoms: np.ndarray, crs: str | None
             ) -> tuple[np.ndarray, str | None, str | None]:
    """``(geometries in WGS 84 longitude/latitude, problem, converted from)``.

    Without a CRS (a Shapefile without .prj) coordinates are taken as longitude/latitude;
    the range check catches projected ones. Other CRSs are converted with pyproj; the
    problem is set (and nothing converted) when that is not possible.
    """
    import shapely

    if not crs or _is_wgs84_text(crs):
        return geoms, None, None
    try:
        import pyproj
    except ImportError:
        return geoms, _(
            "the coordinates are in %(crs)s; convert the file to WGS 84 longitude/latitude "
            "(EPSG:4326) first (this installation cannot convert them).") % {
                "crs": _crs_label(crs)}, None
    try:
        source = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError:
        return geoms, _("the file's coordinate system is not understood (%(crs)s); "
                        "convert the file to WGS 84 longitude/latitude (EPSG:4326).") % {
                            "crs": _crs_label(crs)}, None
    wgs84 = pyproj.CRS.from_epsg(4326)
    if source.equals(wgs84, ignore_axis_order=True) or source.equals("OGC:CRS84"):
        return geoms, None, None
    transformer = pyproj.Transformer.from_crs(source, wgs84, always_xy=True)

    def convert(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1], errcheck=False)
        return np.column_stack([x, y])

    out = shapely.transform(geoms, convert)
    present = ~shapely.is_missing(out)
    finite = np.zeros(len(out), dtype=bool)
    finite[present] = np.isfinite(shapely.bounds(out[present])).all(axis=1)
    bad = present & finite & ~shapely.is_valid(out)
    for i in np.flatnonzero(bad):  # rare: a reprojected polygon that crosses itself
        out[i] = _polygonal(shapely.make_valid(out[i], method="structure",
                                               keep_collapsed=False))
    return out, None, _crs_label(crs)


def coordinate_problems(geoms: np.ndarray) -> Iterable[tuple[int, str]]:
    """``(position, message)`` for geometries outside longitude -180..180 / latitude -90..90."""
    import shapely

    present = np.flatnonzero(~shapely.is_missing(geoms))
    if not present.size:
        return
    bounds = shapely.bounds(geoms[present])
    for i, (xmin, ymin, xmax, ymax) in zip(present.tolist(), bounds.tolist(), strict=True):
        if not all(np.isfinite((xmin, ymin, xmax, ymax))):
            yield i, _("some coordinates are not numbers, or could not be converted to "
                       "WGS 84 longitude/latitude.")
            continue
        hint = ""
        if max(abs(xmin), abs(xmax), abs(ymin), abs(ymax)) > 1000:
            hint = " " + _("(the coordinates look projected, e.g. in metres: give the file "
                           "its coordinate system, such as a .prj file, or convert it to "
                           "WGS 84 longitude/latitude)")
        elif -90 <= xmin <= xmax <= 90 and -180 <= ymin <= ymax <= 180:
            hint = " " + _("(are longitude and latitude swapped?)")
        if xmin < -180 or xmax > 180:
            value = xmin if xmin < -180 else xmax
            yield i, _("longitude %(value)s is outside -180..180%(hint)s.") % {
                "value": _number(value), "hint": hint}
        elif ymin < -90 or ymax > 90:
            value = ymin if ymin < -90 else ymax
            yield i, _("latitude %(value)s is outside -90..90%(hint)s.") % {
                "value": _number(value), "hint": hint}


def _number(value: float) -> str:
    return f"{value:.6g}" if abs(value) < 1e6 else f"{value:.0f}"


# --------------------------------------------------------------------------- messages

_RB_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"code is empty\."), lambda m: _("the code is empty.")),
    (re.compile(r"unknown area code (?P<code>.+)\."),
     lambda m: _("unknown area code %(code)s.") % {"code": m["code"]}),
    (re.compile(r"duplicate code (?P<code>.+) \(also feature (?P<n>\d+)\)\."),
     lambda m: _("duplicate code %(code)s (also feature %(n)s): one geometry per code.")
     % {"code": m["code"], "n": m["n"]}),
    (re.compile(r"no geometry\."), lambda m: _("no geometry.")),
    (re.compile(r"empty geometry\."), lambda m: _("empty geometry.")),
    (re.compile(r"expected a Polygon or MultiPolygon, got (?P<kind>\w+)\."),
     lambda m: _("expected a Polygon or MultiPolygon, got %(kind)s.") % {"kind": m["kind"]}),
    (re.compile(r"the geometry has no polygon \(or no area left after repairing it\)\."),
     lambda m: _("the geometry has no polygon (or no area left after repairing it).")),
    (re.compile(r"file not found\."), lambda m: _("file not found.")),
    (re.compile(r"expected a boundary file ending in (?P<ends>.+), got (?P<got>.+)\."),
     lambda m: _("expected a boundary file ending in %(ends)s, got %(got)s.")
     % {"ends": m["ends"], "got": m["got"]}),
    (re.compile(r"no 'code' property; expected one of (?P<names>.+) \(found: (?P<found>.*)\)\."),
     lambda m: _("no 'code' property; expected one of %(names)s (found: %(found)s).")
     % {"names": m["names"], "found": m["found"]}),
    (re.compile(r"not a readable boundary file \((?P<why>.*)\)\.", re.S),
     lambda m: _("not a readable boundary file (%(why)s).") % {"why": m["why"]}),
]


def translate_problem(message: str) -> str:
    """A problem found by :func:`cegah.risk.io.read_boundaries` (which, like all of
    :mod:`cegah.risk`, speaks English) in the active language."""
    for pattern, make in _RB_PATTERNS:
        m = pattern.fullmatch(message)
        if m:
            return make(m)
    return message


# --------------------------------------------------------------------------- planning


def plan_boundaries(
    codes: Sequence[str], geoms: Sequence[Any], *, plan: BoundaryPlan | None = None,
    filename: str = "", sha256: str = "", dissolve: bool = True, illustrative: bool = False,
    known: dict[str, int] | None = None, progress: Progress | None = None,
) -> BoundaryPlan:
    """Work out the stored geometries for valid WGS 84 polygons keyed on known codes.

    Used by :func:`check_boundaries` after its checks, and by the demo with generated
    geometries (``illustrative=True``). Dissolves missing parents, simplifies per level,
    and compares with what is stored.
    """
    if plan is None:
        plan = BoundaryPlan(filename=filename, sha256=sha256, dissolve=dissolve,
                            illustrative=illustrative, features=len(codes))
    plan.illustrative = plan.illustrative or illustrative
    if known is None:
        known = dict(Area.objects.values_list("code", "level"))
    full: dict[str, Any] = dict(zip(codes, geoms, strict=True))
    marks = dict.fromkeys(full, plan.illustrative)  # code -> illustrative
    dissolved: set[str] = set()
    if plan.dissolve:
        _dissolve(full, marks, dissolved, known, progress)
    by_level: dict[int, list[str]] = defaultdict(list)
    for code in full:
        by_level[known[code]].append(code)
    stored: dict[str, str] = {}
    done, total = 0, len(full)
    for level in sorted(by_level, reverse=True):
        level_codes = by_level[level]
        tolerance = SIMPLIFY_TOLERANCE[level]
        simple = simplify_coverage(np.array([full[c] for c in level_codes], dtype=object),
                                   tolerance)
        texts = geojson_texts(simple)
        for code, text in zip(level_codes, texts, strict=True):
            prefix = ("{" + ILLUSTRATIVE_MEMBER + "," if marks[code] else "{") + (
                DISSOLVED_MEMBER + "," if code in dissolved else "")
            stored[code] = prefix + text[1:]
        done += len(level_codes)
        if progress:
            progress("simplify", done, total)
    existing = stored_geometries(list(stored))
    for code, text in stored.items():
        counts = plan.counts[Level(known[code]).key]
        old = existing.get(code)
        if old == text:
            counts.unchanged += 1
            continue
        if old:
            counts.replaced += 1
        else:
            counts.new += 1
        if code in dissolved:
            counts.dissolved += 1
        plan.geometries[code] = text
    return plan


def stored_geometries(codes: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for start in range(0, len(codes), _WRITE_CHUNK):
        chunk = codes[start : start + _WRITE_CHUNK]
        out.update(Area.objects.filter(code__in=chunk, geometry__isnull=False)
                   .exclude(geometry="").values_list("code", "geometry"))
    return out


def _parent_code(code: str) -> str | None:
    cut = code.rfind(".")
    return code[:cut] if cut > 0 else None


def _dissolve(full: dict[str, Any], marks: dict[str, bool], dissolved: set[str],
              known: dict[str, int], progress: Progress | None) -> None:
    """Fill in parents not in the file whose boundary is missing (or was dissolved before)
    from their children, deepest level first, when every child has a boundary."""
    import shapely

    candidates: set[str] = set()
    for code in full:
        parent = _parent_code(code)
        while parent and parent in known:
            if parent not in full:
                candidates.add(parent)
            parent = _parent_code(parent)
    if not candidates:
        return
    state = _geometry_state(sorted(candidates), field_name="code")
    # A parent with a boundary of its own (imported earlier) keeps it.
    candidates = {c for c in candidates if state.get(c, (False, False, False))[2]
                  or not state.get(c, (False, False, False))[0]}
    children: dict[str, list[str]] = defaultdict(list)
    child_state = _geometry_state(sorted(candidates), field_name="parent_id",
                                  children=children)
    total, done = len(candidates), 0
    for level in (Level.DISTRICT, Level.REGENCY, Level.PROVINCE):
        todo = sorted(c for c in candidates if known[c] == level)
        need: set[str] = set()
        ready: list[str] = []
        for parent in todo:
            kids = children.get(parent, [])
            if kids and all(k in full or child_state.get(k, (False,))[0] for k in kids):
                ready.append(parent)
                need.update(k for k in kids if k not in full)
        from_db = {code: shapely.from_geojson(text, on_invalid="ignore")
                   for code, text in stored_geometries(sorted(need)).items()}
        min_hole = (SLIVER_HOLE_FACTOR * SIMPLIFY_TOLERANCE[level] ** 2)
        for parent in ready:
            kids = children[parent]
            parts = [full[k] if k in full else from_db.get(k) for k in kids]
            if any(p is None for p in parts):
                continue
            union = _polygonal(shapely.union_all(parts))
            done += 1
            if union is None:
                continue
            full[parent] = _fill_small_holes(union, min_hole)
            marks[parent] = any(marks[k] if k in marks else child_state[k][1] for k in kids)
            dissolved.add(parent)
            if progress and (done % 200 == 0 or done == total):
                progress("dissolve", done, total)
    if progress:
        progress("dissolve", total, total)


def _geometry_state(keys: list[str], *, field_name: str,
                    children: dict[str, list[str]] | None = None
                    ) -> dict[str, tuple[bool, bool, bool]]:
    """code -> (has a boundary, illustrative, dissolved) for areas by code or by parent,
    judged from the start of the stored text, so that no geometry is read."""
    from django.db.models import BooleanField, Case, Value, When

    def flag(q: Q) -> Case:
        return Case(When(q, then=Value(True)), default=Value(False),
                    output_field=BooleanField())

    has = Q(geometry__isnull=False) & ~Q(geometry="")
    out: dict[str, tuple[bool, bool, bool]] = {}
    for start in range(0, len(keys), _WRITE_CHUNK):
        chunk = keys[start : start + _WRITE_CHUNK]
        rows = (Area.objects.filter(**{f"{field_name}__in": chunk})
                .annotate(has_geometry=flag(has), illustrative=flag(illustrative_q()),
                          dissolved=flag(Q(geometry__startswith=_DISSOLVED_PREFIXES[0])
                                         | Q(geometry__startswith=_DISSOLVED_PREFIXES[1])))
                .values_list("code", "parent_id", "has_geometry", "illustrative", "dissolved"))
        for code, parent, has_geometry, illus, diss in rows:
            out[code] = (bool(has_geometry), bool(illus), bool(diss))
            if children is not None:
                children[parent].append(code)
    return out


def _polygonal(geometry):
    """The Polygon/MultiPolygon part of a geometry, or None."""
    import shapely

    if geometry is None or geometry.is_empty:
        return None
    kind = shapely.get_type_id(geometry)
    if kind in (3, 6):
        return geometry
    parts = [p for p in shapely.get_parts(geometry) if shapely.get_type_id(p) in (3, 6)]
    if not parts:
        return None
    polygons = [q for p in parts for q in shapely.get_parts(p)]
    return polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)


def _fill_small_holes(geometry, min_area: float):
    import shapely

    polygons = list(shapely.get_parts(geometry))
    changed = False
    kept = []
    for poly in polygons:
        holes = [r for r in poly.interiors if shapely.Polygon(r).area >= min_area]
        if len(holes) != len(poly.interiors):
            changed = True
            poly = shapely.Polygon(poly.exterior, holes)
        kept.append(poly)
    if not changed:
        return geometry
    return kept[0] if len(kept) == 1 else shapely.MultiPolygon(kept)


def simplify_coverage(geoms: np.ndarray, tolerance: float) -> np.ndarray:
    """Simplify polygons of one level together, keeping shared borders identical.

    ``shapely.coverage_simplify`` treats the polygons as a coverage (a map without
    overlaps), so neighbours stay vertex-for-vertex neighbours. Where the input is not a
    clean coverage and that gives an invalid or empty result, the polygon is simplified on
    its own instead (``preserve_topology``), or kept as it is.
    """
    import shapely

    if tolerance <= 0 or not len(geoms):
        return geoms
    try:
        out = shapely.coverage_simplify(geoms, tolerance)
    except Exception:  # noqa: BLE001 - old GEOS, or a coverage GEOS cannot take
        out = shapely.simplify(geoms, tolerance, preserve_topology=True)
    bad = shapely.is_empty(out) | ~shapely.is_valid(out) | ~np.isin(
        shapely.get_type_id(out), (3, 6))
    if bad.any():
        alone = shapely.simplify(geoms[bad], tolerance, preserve_topology=True)
        still = shapely.is_empty(alone) | ~shapely.is_valid(alone)
        alone[still] = geoms[bad][still]
        out[bad] = alone
    return out


def geojson_texts(geoms: np.ndarray, decimals: int = DECIMALS) -> list[str]:
    """Compact GeoJSON geometry texts: outer rings counter-clockwise (RFC 7946),
    coordinates rounded to ``decimals`` places."""
    import shapely

    oriented = shapely.orient_polygons(geoms, exterior_cw=False)
    rounded = shapely.transform(oriented, lambda xy: np.round(xy, decimals) + 0.0)
    return [str(t) for t in shapely.to_geojson(rounded)]


def geometry_sha256(codes: Sequence[str], geoms: Sequence[Any]) -> str:
    """A digest of in-memory geometries (for generated boundaries, which have no file)."""
    import shapely

    digest = hashlib.sha256()
    for code, wkb in zip(codes, shapely.to_wkb(np.asarray(geoms, dtype=object)), strict=True):
        digest.update(code.encode() + b"\0" + wkb + b"\0")
    return digest.hexdigest()


def describe_counts(plan: BoundaryPlan) -> list[tuple[str, LevelCounts]]:
    """(level key, counts) for the levels the plan touches, province first."""
    return [(lvl.key, plan.counts[lvl.key]) for lvl in Level if plan.counts[lvl.key].total]


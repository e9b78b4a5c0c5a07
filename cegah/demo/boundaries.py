"""ILLUSTRATIVE boundaries for the demo regions, generated: NOT REAL boundaries.

The demo has synthetic data for the villages of Aceh, DKI Jakarta, Jawa Timur, Sulawesi
Utara, Kabupaten Klaten and Kota Kendari, and the map needs shapes to draw them. These
shapes are made up: each region is an ellipse placed roughly where the real region is
(:data:`REGION_EXTENTS`), cut into one Voronoi cell per village (random points, smoothed
by two rounds of Lloyd relaxation), and the cells are grouped into districts and
regencies by recursive bisection, so that each district is a compact block of its
villages and each regency a block of its districts. The import then dissolves districts,
regencies and (where the demo covers all of one) provinces from their children, so the
nesting is exact and neighbours share their borders vertex for vertex.

Every stored geometry is marked ``"illustrative": true``
(:data:`cegah.areas.boundaries.ILLUSTRATIVE_PREFIX`); the map says so wherever it shows
them. The same seed gives the same shapes on every machine.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Sequence

import numpy as np

ILLUSTRATIVE_NOTE = "ILLUSTRATIVE boundaries generated for the demo: not real"
DEFAULT_SEED = 20240517
GENERATOR_VERSION = 1  # change when the shapes change, so that the demo reloads them
LLOYD_ITERATIONS = 2
ELLIPSE_SEGMENTS = 16  # per quarter

# Approximate centre (longitude, latitude) and extent (width, height) in degrees of each
# demo region; a region's villages fill an ellipse of that size. Only roughly where the
# real region is, so that the map opens in the right place: the shapes are not real.
REGION_EXTENTS: dict[str, tuple[float, float, float, float]] = {
    "11": (96.70, 4.20, 3.00, 2.60),  # Aceh
    "31": (106.83, -6.23, 0.28, 0.28),  # DKI Jakarta
    "33.10": (110.60, -7.68, 0.24, 0.20),  # Kabupaten Klaten
    "35": (112.70, -7.65, 3.40, 1.20),  # Jawa Timur
    "71": (124.20, 0.90, 2.20, 0.90),  # Sulawesi Utara
    "74.71": (122.54, -3.99, 0.20, 0.14),  # Kota Kendari
}


def region_of(code: str) -> str | None:
    """The demo region (a key of :data:`REGION_EXTENTS`) a code lies in, if any."""
    parts = code.split(".")
    for i in range(len(parts), 0, -1):
        prefix = ".".join(parts[:i])
        if prefix in REGION_EXTENTS:
            return prefix
    return None


def generate_boundaries(
    village_codes: Sequence[str], *, seed: int = DEFAULT_SEED,
) -> tuple[list[str], np.ndarray]:
    """Illustrative village polygons (WGS 84) for village codes of the demo regions.

    Returns the codes (sorted) and an object array of shapely Polygons in the same order.
    Codes outside :data:`REGION_EXTENTS` raise ``ValueError``.
    """
    by_region: dict[str, list[str]] = {}
    for code in sorted(set(village_codes)):
        region = region_of(code)
        if region is None:
            raise ValueError(f"{code}: not in a demo region ({', '.join(REGION_EXTENTS)})")
        by_region.setdefault(region, []).append(code)
    codes: list[str] = []
    geoms: list[object] = []
    for region in sorted(by_region):
        villages = by_region[region]
        rng = np.random.default_rng([seed, zlib.crc32(region.encode())])
        cells = _region_cells(REGION_EXTENTS[region], len(villages), rng)
        order = _assign(cells, villages)
        codes.extend(villages)
        geoms.extend(cells[order])
    return codes, np.array(geoms, dtype=object)


def _ellipse(extent: tuple[float, float, float, float]):
    import shapely
    from shapely import affinity

    cx, cy, width, height = extent
    circle = shapely.Point(0, 0).buffer(1.0, quad_segs=ELLIPSE_SEGMENTS)
    return affinity.translate(affinity.scale(circle, width / 2, height / 2, origin=(0, 0)),
                              cx, cy)


def _region_cells(extent, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` Voronoi cells filling the region's ellipse, in no particular order."""
    import shapely

    outline = _ellipse(extent)
    if n == 1:
        return np.array([outline], dtype=object)
    cx, cy, width, height = extent
    # Uniform in the ellipse (slightly inside its polygon).
    r = np.sqrt(rng.random(n)) * 0.97
    theta = rng.random(n) * 2 * np.pi
    points = np.column_stack([cx + r * np.cos(theta) * width / 2,
                              cy + r * np.sin(theta) * height / 2])
    cells = _cells(points, outline)
    for _ in range(LLOYD_ITERATIONS):
        points = shapely.get_coordinates(shapely.centroid(cells))
        cells = _cells(points, outline)
    return cells


def _cells(points: np.ndarray, outline) -> np.ndarray:
    import shapely

    diagram = shapely.voronoi_polygons(shapely.multipoints(points),
                                       extend_to=outline.envelope.buffer(1.0), ordered=True)
    cells = shapely.get_parts(diagram)
    return shapely.intersection(cells, outline)


def _assign(cells: np.ndarray, villages: list[str]) -> np.ndarray:
    """For each village (sorted codes), the index of its cell: districts and regencies
    become compact blocks of neighbouring cells by recursive bisection."""
    import shapely

    centres = shapely.get_coordinates(shapely.centroid(cells))
    # Group sizes at each level below the region: regency, district, village.
    order = np.empty(len(villages), dtype=np.int64)

    def place(idx: np.ndarray, members: list[int], depth: int) -> None:
        # ``members``: positions in ``villages`` of the villages to place on ``idx``.
        if len(members) == 1:
            order[members[0]] = idx[0]
            return
        groups: dict[str, list[int]] = {}
        for m in members:
            key = ".".join(villages[m].split(".")[:depth])
            groups.setdefault(key, []).append(m)
        if len(groups) == 1:  # one group at this depth: go one level down
            place(idx, members, depth + 1)
            return
        parts = list(groups.values())
        for chunk_idx, chunk in zip(_bisect(centres, idx, [len(p) for p in parts]), parts,
                                    strict=True):
            place(chunk_idx, chunk, depth + 1)

    place(np.arange(len(cells)), list(range(len(villages))), 2)
    return order


def _bisect(centres: np.ndarray, idx: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    """Split cells ``idx`` into consecutive groups of ``sizes``, halving along the longer
    side each time (recursive coordinate bisection)."""
    if len(sizes) == 1:
        return [idx]
    total = sum(sizes)
    running = np.cumsum(sizes)[:-1]
    k = int(np.argmin(np.abs(running - total / 2))) + 1
    n_left = int(running[k - 1])
    pts = centres[idx]
    span = pts.max(axis=0) - pts.min(axis=0)
    axis = int(np.argmax(span))
    ordered = idx[np.argsort(pts[:, axis], kind="stable")]
    return (_bisect(centres, ordered[:n_left], sizes[:k])
            + _bisect(centres, ordered[n_left:], sizes[k:]))


# --------------------------------------------------------------------------- loading

def demo_boundary_sha256(villages: Sequence[str], seed: int) -> str:
    """What identifies one set of generated boundaries (no file exists to hash)."""
    digest = hashlib.sha256(f"cegah-demo-boundaries v{GENERATOR_VERSION} seed {seed}\n"
                            .encode())
    digest.update("\n".join(sorted(villages)).encode())
    return digest.hexdigest()


def do_load_demo_boundaries(
    actor, regions: Sequence[str], *, seed: int = DEFAULT_SEED,
    say: Callable[[str], None] = lambda s: None,
) -> int:
    """Generate the illustrative boundaries of the demo regions and import them through
    :func:`cegah.areas.actions.do_import_boundaries` (one audited transaction).

    Villages that already have a real (not illustrative) boundary keep it. Skipped when
    the same boundaries were loaded before. Returns how many areas changed.
    """
    from django.db.models import Q

    from cegah.areas.actions import do_import_boundaries
    from cegah.areas.boundaries import illustrative_q, plan_boundaries
    from cegah.areas.models import Area, Level
    from cegah.audit.models import AuditEvent

    q = Q(pk__in=[])
    for code in regions:
        q |= Q(code__startswith=code + ".")
    villages = Area.objects.filter(q, level=Level.VILLAGE)
    codes_all = sorted(villages.values_list("code", flat=True))
    if not codes_all:
        return 0
    sha = demo_boundary_sha256(codes_all, seed)
    if AuditEvent.objects.filter(action="import", object_type="boundaries",
                                 new__sha256=sha).exists():
        say("  boundaries: the illustrative demo boundaries are in place")
        return 0
    say(f"  boundaries: generating ILLUSTRATIVE boundaries (not real) for "
        f"{len(codes_all):,} villages ...")
    real = set(villages.filter(geometry__isnull=False).exclude(geometry="")
               .exclude(illustrative_q()).values_list("code", flat=True))
    codes, geoms = generate_boundaries(codes_all, seed=seed)
    keep = np.array([c not in real for c in codes], dtype=bool)
    plan = plan_boundaries([c for c, k in zip(codes, keep, strict=True) if k], geoms[keep],
                           filename=f"demo boundaries seed {seed} (ILLUSTRATIVE, not real)",
                           sha256=sha, dissolve=True, illustrative=True)
    do_import_boundaries(actor, plan)
    return plan.changes

"""Drawing the risk map as PNG or PDF for reports (matplotlib, Agg backend, no screen).

No policy and no figures here: :mod:`cegah.riskmap.exports` builds a
:class:`MapDocument` from the protected figures and this module draws it. Areas are
filled by tier with a palette that colour-blind readers can tell apart (Okabe & Ito:
vermillion, orange, sky blue; grey for unknown). The PDF is one A4 landscape page with
the map and a table of the top areas; the PNG is the map alone. Without boundaries both
show the table and say that no boundaries are loaded.
"""

from __future__ import annotations

import io
import math
import os
import threading
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _

from cegah.riskmap.models import Tier

TIER_COLOURS = {
    Tier.HIGH: "#D55E00",
    Tier.MODERATE: "#E69F00",
    Tier.LOW: "#56B4E9",
    Tier.UNKNOWN: "#BBBBBB",
}
NO_RESULT_COLOUR = "#F2F2F2"
TIER_ORDER = (Tier.HIGH, Tier.MODERATE, Tier.LOW, Tier.UNKNOWN)
FORMATS = ("png", "pdf")
A4_LANDSCAPE = (11.69, 8.27)  # inches
PNG_SIZE = (10.0, 7.5)  # inches, at PNG_DPI
PNG_DPI = 150
TABLE_ROWS = 25  # top areas in the PDF's table
NAME_WIDTH = 34  # characters of an area name in the table

# pyplot is not used (it keeps global state); the object API with the Agg canvas is,
# but fonts and rcParams are shared, so one drawing at a time per process.
_LOCK = threading.Lock()


@dataclass
class MapArea:
    code: str
    name: str
    tier: str | None  # None: the area has no result in the run
    cases_label: str = ""
    geometry: str | None = None  # GeoJSON text as stored in Area.geometry


@dataclass
class MapDocument:
    title: str
    subtitle: str
    areas: list[MapArea]
    illustrative: bool = False
    synthetic: bool = False
    message: str = ""  # shown instead of the map, e.g. "no boundaries loaded"
    table: list[MapArea] = field(default_factory=list)  # the top areas, in order
    table_note: str = ""


def tier_label(tier: str | None) -> str:
    if tier is None:
        return _("no result")
    try:
        return str(Tier(tier).label).capitalize()
    except ValueError:
        return tier


def footer_text() -> str:
    return _("Risk is about places, never about people; counts 1–4 shown as <5")


def _matplotlib():
    os.environ.setdefault("MPLCONFIGDIR", str(settings.VAR_DIR / "matplotlib"))
    import matplotlib

    matplotlib.use("Agg", force=False)
    return matplotlib


def render(doc: MapDocument, fmt: str) -> bytes:
    """The document as PNG or PDF bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    matplotlib = _matplotlib()
    with _LOCK, matplotlib.rc_context({"pdf.fonttype": 42, "font.family": "DejaVu Sans",
                                       "svg.hashsalt": "cegah"}):
        fig = build_figure(doc, fmt)
        out = io.BytesIO()
        if fmt == "pdf":
            fig.savefig(out, format="pdf", metadata={
                "Title": doc.title, "Creator": "Cegah", "Subject": doc.subtitle})
        else:
            fig.savefig(out, format="png", dpi=PNG_DPI, metadata={"Software": "Cegah"})
        return out.getvalue()


def figure_texts(doc: MapDocument, fmt: str) -> list[str]:
    """Every text the drawing shows (for tests: what a reader of the file can read)."""
    matplotlib = _matplotlib()
    from matplotlib.text import Text

    with _LOCK, matplotlib.rc_context({"font.family": "DejaVu Sans"}):
        fig = build_figure(doc, fmt)
        texts = [t.get_text() for t in fig.findobj(Text)]
        for ax in fig.axes:  # a table's cells hold their texts outside the artist tree
            for table in ax.tables:
                texts += [cell.get_text().get_text() for cell in table.get_celld().values()]
        return [t for t in texts if t]


def build_figure(doc: MapDocument, fmt: str):
    """A matplotlib Figure (not attached to pyplot) laid out for ``fmt``."""
    _matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    pdf = fmt == "pdf"
    fig = Figure(figsize=A4_LANDSCAPE if pdf else PNG_SIZE)
    FigureCanvasAgg(fig)
    drawn = [a for a in doc.areas if a.geometry]
    show_map = bool(drawn) and not doc.message
    show_table = pdf or not show_map

    # Heading: title, as-of line, then the labels a reader must not miss.
    fig.text(0.03, 0.965, doc.title, fontsize=15, fontweight="bold", va="top")
    fig.text(0.03, 0.915, doc.subtitle, fontsize=9.5, color="#444444", va="top")
    badges = []
    if doc.synthetic:
        badges.append(_("SYNTHETIC demo data"))
    if doc.illustrative and show_map:
        badges.append(_("Illustrative boundaries, not real"))
    if badges:
        fig.text(0.03, 0.88, "   ·   ".join(badges), fontsize=10, fontweight="bold",
                 color="#9A3412", va="top")
    fig.text(0.03, 0.035, footer_text(), fontsize=8.5, color="#333333", va="bottom")
    fig.text(0.03, 0.012, _("“x”: hidden so that another count cannot be worked out. "
                            "Reports are not incidence."),
             fontsize=7.5, color="#555555", va="bottom")
    fig.text(0.97, 0.012, "Cegah", fontsize=7.5, color="#555555", va="bottom", ha="right")

    top = 0.84 if badges else 0.87
    if show_map:
        width = 0.58 if show_table else 0.94
        ax = fig.add_axes((0.03, 0.14, width, top - 0.14))
        _draw_map(ax, doc, drawn)
    if show_table:
        left = 0.64 if show_map else 0.03
        right = 0.97 if show_map else 0.75
        ax = fig.add_axes((left, 0.09, right - left, top - 0.09))
        _draw_table(ax, doc, message=doc.message if not show_map else "")
    return fig


def _paths(geometry_text: str):
    """matplotlib Paths (one per polygon, holes included) of a GeoJSON geometry."""
    import numpy as np
    import shapely
    from matplotlib.path import Path

    geom = shapely.from_geojson(geometry_text, on_invalid="ignore")
    if geom is None or geom.is_empty:
        return []
    polygons = list(getattr(geom, "geoms", [geom]))
    out = []
    for poly in polygons:
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        rings = [np.asarray(poly.exterior.coords)[:, :2]]
        rings += [np.asarray(r.coords)[:, :2] for r in poly.interiors]
        vertices = np.concatenate(rings)
        codes = np.concatenate([
            [Path.MOVETO] + [Path.LINETO] * (len(r) - 2) + [Path.CLOSEPOLY] for r in rings])
        out.append(Path(vertices, codes))
    return out


def _draw_map(ax, doc: MapDocument, drawn: list[MapArea]) -> None:
    import numpy as np
    from matplotlib.collections import PathCollection
    from matplotlib.patches import Patch

    paths, colours = [], []
    for area in drawn:
        colour = TIER_COLOURS.get(area.tier, NO_RESULT_COLOUR) if area.tier else NO_RESULT_COLOUR
        for p in _paths(area.geometry):
            paths.append(p)
            colours.append(colour)
    if not paths:
        ax.set_axis_off()
        ax.text(0.5, 0.5, _("No boundaries loaded for these areas."), ha="center",
                va="center", transform=ax.transAxes, fontsize=11)
        return
    line = 0.6 if len(paths) < 100 else 0.3 if len(paths) < 1000 else 0.15
    ax.add_collection(PathCollection(paths, facecolors=colours, edgecolors="white",
                                     linewidths=line))
    vertices = np.concatenate([p.vertices for p in paths])
    (x0, y0), (x1, y1) = vertices.min(axis=0), vertices.max(axis=0)
    pad_x, pad_y = (x1 - x0) * 0.03 or 0.01, (y1 - y0) * 0.03 or 0.01
    ax.set_xlim(x0 - pad_x, x1 + pad_x)
    ax.set_ylim(y0 - pad_y, y1 + pad_y)
    # Longitude/latitude with a degree of latitude as long as a degree of longitude there.
    ax.set_aspect(1 / max(math.cos(math.radians((y0 + y1) / 2)), 0.2), adjustable="box")
    ax.set_axis_off()
    present = {a.tier for a in drawn}
    handles = [Patch(facecolor=TIER_COLOURS[t], edgecolor="#666666", linewidth=0.4,
                     label=tier_label(t)) for t in TIER_ORDER if t in present]
    if None in present:
        handles.append(Patch(facecolor=NO_RESULT_COLOUR, edgecolor="#666666",
                             linewidth=0.4, label=tier_label(None)))
    # Below the map, in one row, so that it covers no area.
    legend = ax.legend(handles=handles, title=_("Risk tier"), loc="upper left",
                       bbox_to_anchor=(0, -0.01), ncol=len(handles), fontsize=8.5,
                       title_fontsize=9, frameon=False, alignment="left")
    legend.set_in_layout(False)
    missing = len(doc.areas) - len(drawn)
    if missing:
        ax.text(1, -0.02, _("%(n)s areas without a boundary are not drawn.")
                % {"n": missing}, ha="right", va="top", transform=ax.transAxes,
                fontsize=7.5, color="#555555")


def _draw_table(ax, doc: MapDocument, *, message: str) -> None:
    ax.set_axis_off()
    y = 1.0
    if message:
        ax.text(0, y, message, fontsize=12, fontweight="bold", va="top",
                transform=ax.transAxes, color="#9A3412")
        y -= 0.06
    rows = doc.table[:TABLE_ROWS]
    if not rows:
        ax.text(0, y, _("No risk results for these areas."), fontsize=10, va="top",
                transform=ax.transAxes)
        return
    header = [_("Area"), _("Risk tier"), _("Reported cases")]
    widths = [0.58, 0.22, 0.20]
    cells = [[_short(a.name), tier_label(a.tier), a.cases_label or "–"] for a in rows]
    height = min(0.034 * (len(cells) + 1), y - 0.06)
    table = ax.table(cellText=cells, colLabels=header, colLoc="left", cellLoc="left",
                     bbox=(0, y - height, 1, height), colWidths=widths)
    table.auto_set_font_size(False)
    table.set_fontsize(7.5)
    for (r, c), cell in table.get_celld().items():
        cell.PAD = 0.012 / widths[c]  # the same small margin in every column
        cell.set_edgecolor("#D0D7DE")
        cell.set_linewidth(0.4)
        if r == 0:
            cell.set_text_props(fontweight="bold")
            cell.set_facecolor("#F6F8FA")
        elif c == 1:
            tier = rows[r - 1].tier
            cell.set_facecolor(TIER_COLOURS.get(tier, NO_RESULT_COLOUR) if tier
                               else NO_RESULT_COLOUR)
    note = doc.table_note
    if note:
        ax.text(0, y - height - 0.015, note, fontsize=7.5, va="top", color="#555555",
                transform=ax.transAxes)


def _short(name: str) -> str:
    return name if len(name) <= NAME_WIDTH else name[: NAME_WIDTH - 1] + "…"

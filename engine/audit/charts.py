"""The oversight figures as charts: SVG drawn on the server with pygal, self-contained (no
script, no stylesheet or font from elsewhere) and in colours of at least 4.5:1 contrast
against white (WCAG AA, for text as for bars). Each chart draws one of the figures'
tables (:data:`engine.audit.statistics.TABLES`), which is shown beside it and offered as
CSV: :data:`CHART_TABLES`."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pygal
from pygal.etree import etree
from pygal.style import Style

from engine.language.model import Label

#: Bar colours, each at least 4.5:1 against white (blue, orange, green, purple).
PALETTE = ("#1f5f99", "#a84300", "#2e7d32", "#6a3d9a")
TEXT = "#1a1a1a"
SUBTLE_TEXT = "#595959"
STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground=TEXT,
    foreground_strong="#000000",
    foreground_subtle=SUBTLE_TEXT,
    guide_stroke_color=SUBTLE_TEXT,
    major_guide_stroke_color=SUBTLE_TEXT,
    colors=PALETTE,
    # pygal's translucent bars would lighten the colours below the contrast they have
    opacity="1",
    opacity_hover="1",
    # a local font stack: a "googlefont:" family would make pygal link a stylesheet
    font_family="'DejaVu Sans', 'Liberation Sans', Arial, sans-serif",
)

TITLES: Mapping[str, Label] = {
    "states": Label("Kasus per tahap", "Cases by state"),
    "time_in_state": Label("Lama di tiap tahap (hari)", "Time in each state (days)"),
    "by_region": Label("Dana per wilayah", "Money by region"),
}
SERIES: Mapping[str, Label] = {
    "count": Label("Kasus", "Cases"),
    "overdue": Label("Lewat tenggat", "Overdue"),
    "median_days": Label("Median", "Median"),
    "p90_days": Label("Persentil ke-90", "90th percentile"),
    "approved": Label("Disetujui", "Approved"),
    "disbursed": Label("Dicairkan", "Disbursed"),
    "accounted": Label("LPJ diterima", "Accounted for (LPJ accepted)"),
}
NO_DATA = Label("Tidak ada data", "No data")


@dataclass(frozen=True)
class ValueAxis:
    """How a chart's value axis reads: its title, the unit its labels count in, and
    whether its ticks fall on whole numbers only."""

    title: Label
    unit: float = 1
    whole: bool = False


COUNT_AXIS = ValueAxis(Label("Jumlah kasus", "Number of cases"), whole=True)
DAYS_AXIS = ValueAxis(Label("Hari", "Days"))
MONEY_AXIS = ValueAxis(Label("Juta rupiah", "Million rupiah"), unit=1_000_000)

#: Which table each chart draws.
CHART_TABLES: Mapping[str, str] = {
    "state_chart": "states",
    "time_chart": "time_in_state",
    "money_chart": "by_region",
}
LANGUAGES = ("id", "en")


def state_chart(figures: Mapping[str, Any], lang: str = "id") -> str:
    """Cases in each state, and how many of them are overdue."""
    return _bar_chart(figures, "states", ("count", "overdue"), lang, COUNT_AXIS)


def time_chart(figures: Mapping[str, Any], lang: str = "id") -> str:
    """Median and 90th percentile of the days spent in each state."""
    return _bar_chart(figures, "time_in_state", ("median_days", "p90_days"), lang, DAYS_AXIS)


def money_chart(figures: Mapping[str, Any], lang: str = "id") -> str:
    """Money approved, disbursed and accounted for (LPJ accepted) in each region."""
    columns = ("approved", "disbursed", "accounted")
    return _bar_chart(figures, "by_region", columns, lang, MONEY_AXIS)


def _bar_chart(
    figures: Mapping[str, Any],
    table: str,
    columns: Sequence[str],
    lang: str,
    axis: ValueAxis,
) -> str:
    """A group of horizontal bars (one per column) for each row of ``table``, the first
    row at the top, labelled in ``lang``."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r} (one of {', '.join(LANGUAGES)})")
    rows = list(reversed(figures[table]))  # pygal draws the first row at the bottom
    values = {column: [row[column] for row in rows] for column in columns}
    chart = pygal.HorizontalBar(
        style=STYLE,
        js=[],  # pygal would otherwise load its tooltip script from a CDN
        disable_xml_declaration=True,
        title=_title(figures, table, lang),
        x_title=axis.title.get(lang),  # the value axis: horizontal here
        value_formatter=lambda value: _number(value / axis.unit, lang),
        legend_at_bottom=True,
        truncate_label=-1,
        no_data_text=NO_DATA.get(lang),
    )
    if axis.whole:
        chart.y_labels = _whole_ticks(v for column in values.values() for v in column if v)
    chart.x_labels = [_row_label(row, lang) for row in rows]
    for column in columns:
        chart.add(SERIES[column].get(lang), values[column])
    chart.add_xml_filter(_self_contained)
    return str(chart.render(is_unicode=True))


def _self_contained(root: Any) -> Any:
    """Drops what pygal adds besides the drawing and its style: the script holding its
    tooltip configuration (inert without pygal's JavaScript) and the credit comments
    naming its web site."""
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag is etree.Comment or str(child.tag).rpartition("}")[2] == "script":
                parent.remove(child)
    return root


def _title(figures: Mapping[str, Any], table: str, lang: str) -> str:
    """The chart's title: what it shows, for which program, year and region."""
    scope = " ".join(
        str(part) for part in (figures["program"], figures["year"], figures["region"]) if part
    )
    return f"{TITLES[table].get(lang)} — {scope}"


def _row_label(row: Mapping[str, Any], lang: str) -> str:
    if "label" in row:
        return str(row["label"][lang])
    return f"{row['name']} ({row['region']})"


def _whole_ticks(values: Iterable[float]) -> list[int]:
    """About ten ticks at whole numbers from 0 past the largest value (counts)."""
    top = math.ceil(max(values, default=1))
    step = max(1, math.ceil(top / 10))
    return list(range(0, top + step, step))


def _number(value: float, lang: str) -> str:
    """A number as the language writes it: 1,234.5 in English, 1.234,5 in Indonesian."""
    text = f"{value:,.10g}"
    return text if lang == "en" else text.translate(str.maketrans(",.", ".,"))

"""A tiny SVG chart helper: the geometry of horizontal bar charts (grouped or stacked) and
stacked column charts, as primitives that templates/_charts.html draws as inline SVG (viewBox,
so it scales with the page; every bar has a <title> tooltip; no JavaScript, nothing fetched).
Labels come from the caller (templates / texts.yml); this module only places things.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

SERIES_CLASSES = ("s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7")


@dataclass
class Chart:
    width: int
    height: int
    rects: List[Dict[str, Any]] = field(default_factory=list)
    texts: List[Dict[str, Any]] = field(default_factory=list)
    lines: List[Dict[str, Any]] = field(default_factory=list)
    legend: List[Dict[str, str]] = field(default_factory=list)
    title: str = ""
    empty: bool = False


def _nice_max(value: float) -> float:
    """A round axis maximum that four ticks divide into whole numbers."""
    if value <= 0:
        return 4.0
    for step in (4, 8, 12, 20, 40, 60, 80, 100, 200, 400, 600, 800, 1000, 2000, 4000, 10000, 20000, 40000):
        if value <= step:
            return float(step)
    return float(value)


def _fmt(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.0f}%"
    return f"{value:g}" if value != int(value) else str(int(value))


def hbar(rows: Sequence[Dict[str, Any]], series: Sequence[Dict[str, str]], *, percent: bool = False,
         stacked: bool = False, width: int = 560, label_width: int = 120, bar: int = 12, title: str = "",
         max_value: Optional[float] = None, max_label: int = 14) -> Chart:
    """Horizontal bars: rows [{"label", "values": [..per series..]}], series [{"name", "cls"}].
    Grouped (one bar per series) or stacked; values None are skipped; `percent` for 0..1."""
    n = len(series)
    band = (bar * (1 if stacked else n)) + 10
    top, bottom = 8, 24
    height = top + bottom + band * max(1, len(rows))
    chart = Chart(width=width, height=height, title=title, empty=not rows)
    chart.legend = [{"cls": s.get("cls", SERIES_CLASSES[i]), "name": s["name"]} for i, s in enumerate(series)]
    if stacked:
        peak = max([sum(v or 0 for v in r["values"]) for r in rows] or [0])
    else:
        peak = max([v or 0 for r in rows for v in r["values"]] or [0])
    vmax = max_value if max_value is not None else (1.0 if percent else _nice_max(peak))
    plot_w = width - label_width - 48
    scale = plot_w / vmax if vmax else 0
    for k in range(5):
        frac = k / 4
        x = label_width + plot_w * frac
        chart.lines.append({"x1": x, "y1": top, "x2": x, "y2": height - bottom + 4, "cls": "grid"})
        chart.texts.append({"x": x, "y": height - 6, "text": _fmt(vmax * frac, percent), "anchor": "middle",
                            "cls": "tick"})
    for i, row in enumerate(rows):
        y0 = top + i * band + 5
        label = row["label"] if len(row["label"]) <= max_label else row["label"][: max_label - 1] + "…"
        chart.texts.append({"x": label_width - 6, "y": y0 + (band - 10) / 2 + 4, "text": label,
                            "anchor": "end", "cls": "label", "title": row["label"]})
        x = float(label_width)
        for j, value in enumerate(row["values"]):
            cls = series[j].get("cls", SERIES_CLASSES[j])
            if value is None:
                if not stacked:
                    chart.texts.append({"x": label_width + 4, "y": y0 + j * bar + bar - 2, "text": "—",
                                        "anchor": "start", "cls": "value"})
                continue
            w = max(0.0, value * scale)
            y = y0 if stacked else y0 + j * bar
            tip = f"{row['label']} · {series[j]['name']}：{_fmt(value, percent)}"
            chart.rects.append({"x": x, "y": y, "w": w, "h": bar - 2, "cls": cls, "title": tip})
            if stacked:
                x += w
            else:
                chart.texts.append({"x": label_width + w + 4, "y": y + bar - 3, "text": _fmt(value, percent),
                                    "anchor": "start", "cls": "value"})
        if stacked:
            total = sum(v or 0 for v in row["values"])
            chart.texts.append({"x": x + 4, "y": y0 + bar - 3, "text": _fmt(total, percent), "anchor": "start",
                                "cls": "value"})
    return chart


def columns(periods: Sequence[str], series: Sequence[Dict[str, Any]], *, width: int = 960, height: int = 240,
            title: str = "") -> Chart:
    """Stacked columns over time: series [{"name", "cls", "values": [..per period..]}]."""
    left, right, top, bottom = 36, 8, 10, 42
    chart = Chart(width=width, height=height, title=title, empty=not periods)
    chart.legend = [{"cls": s.get("cls", SERIES_CLASSES[i % len(SERIES_CLASSES)]), "name": s["name"]}
                    for i, s in enumerate(series)]
    totals = [sum(s["values"][k] for s in series) for k in range(len(periods))]
    vmax = _nice_max(max(totals or [0]))
    plot_w, plot_h = width - left - right, height - top - bottom
    for k in range(5):
        frac = k / 4
        y = top + plot_h * (1 - frac)
        chart.lines.append({"x1": left, "y1": y, "x2": width - right, "y2": y, "cls": "grid"})
        chart.texts.append({"x": left - 4, "y": y + 4, "text": _fmt(vmax * frac, False), "anchor": "end",
                            "cls": "tick"})
    if not periods:
        return chart
    slot = plot_w / len(periods)
    col_w = max(2.0, min(28.0, slot * 0.7))
    every = max(1, len(periods) // 10)
    for k, period in enumerate(periods):
        x = left + slot * k + (slot - col_w) / 2
        y = float(top + plot_h)
        for i, s in enumerate(series):
            v = s["values"][k]
            if not v:
                continue
            h = plot_h * v / vmax
            y -= h
            chart.rects.append({"x": x, "y": y, "w": col_w, "h": h,
                                "cls": s.get("cls", SERIES_CLASSES[i % len(SERIES_CLASSES)]),
                                "title": f"{period} · {s['name']}：{v}"})
        if k % every == 0:
            chart.texts.append({"x": x + col_w / 2, "y": height - bottom + 14, "text": period[5:] if len(period) == 10 else period,
                                "anchor": "middle", "cls": "tick"})
    return chart

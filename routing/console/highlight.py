"""Entity highlighting: a text cut into segments, each plain or an entity of some kind."""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

Segment = Dict[str, Optional[str]]


def by_offsets(text: str, entities: Sequence[Dict[str, Any]]) -> List[Segment]:
    """Segments from entity offsets (the NLU's start/end on `text`); bad offsets are skipped."""
    spans: List[Tuple[int, int, str]] = []
    for e in entities:
        start, end, kind = e.get("start"), e.get("end"), e.get("entity")
        if not isinstance(start, int) or not isinstance(end, int) or not kind:
            continue
        if 0 <= start < end <= len(text):
            spans.append((start, end, str(kind)))
    return _cut(text, spans)


def by_values(text: str, values: Iterable[Tuple[str, str]]) -> List[Segment]:
    """Segments where the given (value, kind) strings occur, longest values first. The search
    runs on a Simplified, half-width view of the same length, so 天心區坡子街 in a Traditional
    transcript is found by the model's 天心区坡子街."""
    from routing.triage.parse import simplified_view

    view = simplified_view(text)
    spans: List[Tuple[int, int, str]] = []
    for value, kind in sorted({(v.strip(), k) for v, k in values if v and v.strip()}, key=lambda x: -len(x[0])):
        pos = view.find(value)
        while pos >= 0:
            spans.append((pos, pos + len(value), kind))
            pos = view.find(value, pos + len(value))
    return _cut(text, spans)


def _cut(text: str, spans: List[Tuple[int, int, str]]) -> List[Segment]:
    taken: List[Tuple[int, int, str]] = []
    for s in sorted(spans, key=lambda s: (-(s[1] - s[0]), s[0])):
        if all(s[1] <= o[0] or s[0] >= o[1] for o in taken):
            taken.append(s)
    taken.sort()
    out: List[Segment] = []
    pos = 0
    for start, end, kind in taken:
        if start > pos:
            out.append({"text": text[pos:start], "kind": None})
        out.append({"text": text[start:end], "kind": kind})
        pos = end
    if pos < len(text):
        out.append({"text": text[pos:], "kind": None})
    return out

"""SMS length rules, and splitting long replies into messages that fit.

An SMS carries 140 bytes. Text that only uses the GSM 03.38 alphabet (GSM-7) gets 160 characters
in a single message, or 153 per segment when a message is concatenated (the user data header
takes 7); characters of the GSM extension table (``^ { } [ ] ~ | € \\f``) cost two. Anything else
— every Chinese character — forces UCS-2 for the whole message: 70 UTF-16 code units single,
67 per concatenated segment, and characters outside the BMP (emoji) take two units.

:func:`analyse` says how a phone network will count a text; :func:`split_message` cuts a reply
into separate SMS bodies of at most ``max_segments`` segments each, preferring sentence ends,
then clause breaks, and never splitting a character.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List

GSM7 = "GSM-7"
UCS2 = "UCS-2"

GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = set("^{}\\[~]|€\f")

LIMITS = {
    GSM7: (160, 153),  # (single message, per segment of a concatenated message)
    UCS2: (70, 67),
}

# Where to cut, best first: sentence ends, then clause breaks, then spaces.
_BREAKS = ("\n", "。！？!?…", "；;", "，,、：:", " ")


@dataclass(frozen=True)
class SegmentInfo:
    encoding: str
    units: int          # GSM septets or UTF-16 code units
    segments: int
    single_limit: int
    segment_limit: int


def encoding_of(text: str) -> str:
    return GSM7 if all(c in GSM_BASIC or c in GSM_EXTENDED for c in text) else UCS2


def char_units(char: str, encoding: str) -> int:
    if encoding == GSM7:
        return 2 if char in GSM_EXTENDED else 1
    return 2 if ord(char) > 0xFFFF else 1


def units_of(text: str, encoding: str) -> int:
    return sum(char_units(c, encoding) for c in text)


def analyse(text: str) -> SegmentInfo:
    encoding = encoding_of(text)
    units = units_of(text, encoding)
    single, per_segment = LIMITS[encoding]
    if units <= single:
        count = 1 if units else 0
    else:
        count = len(segments(text))
    return SegmentInfo(encoding, units, count, single, per_segment)


def segments(text: str) -> List[str]:
    """The parts a phone network cuts `text` into (a character is never split across parts)."""
    encoding = encoding_of(text)
    single, per_segment = LIMITS[encoding]
    if units_of(text, encoding) <= single:
        return [text] if text else []
    parts: List[str] = []
    current: List[str] = []
    used = 0
    for char in text:
        cost = char_units(char, encoding)
        if used + cost > per_segment:
            parts.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += cost
    if current:
        parts.append("".join(current))
    return parts


def capacity(encoding: str, max_segments: int) -> int:
    single, per_segment = LIMITS[encoding]
    return single if max_segments <= 1 else max(single, per_segment * max_segments)


def split_message(text: str, max_segments: int = 1) -> List[str]:
    """`text` as separate SMS bodies, each at most `max_segments` segments long.

    The encoding of the whole text decides the budget (a chunk that happens to be pure GSM-7 then
    fits with room to spare). Cuts go after the last sentence end, clause break or space that
    fits; a chunk without any is cut at the budget.
    """
    text = text.strip()
    if not text:
        return []
    max_segments = max(1, int(max_segments))
    encoding = encoding_of(text)
    budget = capacity(encoding, max_segments)
    chunks: List[str] = []
    rest = text
    while rest:
        if units_of(rest, encoding) <= budget:
            chunks.append(rest)
            break
        # the longest prefix within the budget
        used, end = 0, 0
        for i, char in enumerate(rest):
            cost = char_units(char, encoding)
            if used + cost > budget:
                break
            used += cost
            end = i + 1
        cut = _best_cut(rest[:end]) or end
        chunk, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if chunk:
            chunks.append(chunk)
    return chunks


def _best_cut(prefix: str) -> int:
    """Index just after the best break character in `prefix` (0 if none worth using)."""
    floor = len(prefix) // 3  # a cut very early would leave a stub message
    for group in _BREAKS:
        pos = max(prefix.rfind(c) for c in group)
        if pos >= floor and pos > 0:
            return pos + 1
    return 0

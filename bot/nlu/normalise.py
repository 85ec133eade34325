"""Text normalisation applied before tokenisation, to training data and to live messages alike.

Steps, in order: Traditional → Simplified (OpenCC ``t2s``), full-width ASCII forms → half-width,
spoken fillers removed, Chinese numerals before a unit written as digits, runs of blanks folded.
Steps that change the length of the text are recorded as edits, so a character offset in the
original text (an entity annotation) maps onto the normalised text: the tokenizer's spans then
still line up with the annotations.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import cn2an
import opencc
import yaml

DATA_PATH = Path(__file__).resolve().parent.parent / "normalisation.yml"
_NUMERAL_CHARS = "零〇一二两三四五六七八九十百千万"
# Single "一" before a unit is idiomatic far more often than it is a count (一点, 一次, 一天到晚).
_KEEP_AS_IS = {"一"}
# "一两点", "三四天", "二三十个", "十一二岁": two neighbouring digits are a rough range, not a number
# (cn2an would read 12, 34, 230 …): kept as written
_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_APPROXIMATE = re.compile(f"(?:^|十)([{''.join(_DIGITS)}])([{''.join(_DIGITS)}])[十百千万]?$")
_CLOCK_UNITS = ("点", "时")  # "九十点" is nine or ten o'clock, never 90
_CLOCK_MAX = 24


@dataclass
class Normalised:
    """A normalised text and the map from original offsets to normalised ones."""

    original: str
    text: str
    # For every original offset 0..len(original): the offset in `text`.
    offsets: List[int] = field(repr=False)
    traditional_chars: int = 0

    def map_span(self, start: int, end: int) -> Tuple[int, int]:
        """Maps an original [start, end) span onto the normalised text, trimmed of blanks."""
        new_start, new_end = self.offsets[start], self.offsets[end]
        while new_start < new_end and self.text[new_start].isspace():
            new_start += 1
        while new_end > new_start and self.text[new_end - 1].isspace():
            new_end -= 1
        return new_start, new_end

    @property
    def is_traditional(self) -> bool:
        """Whether the writer used Traditional characters (more than a stray one or two)."""
        return self.traditional_chars >= 2


@dataclass(frozen=True)
class _Rules:
    fillers: Tuple[str, ...]
    numeral_re: re.Pattern


@lru_cache(maxsize=1)
def _rules(path: Path = DATA_PATH) -> _Rules:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    fillers = tuple(sorted(data.get("fillers", []), key=len, reverse=True))
    units = sorted(data.get("numeral_units", []), key=len, reverse=True)
    numeral_re = re.compile(
        f"[{_NUMERAL_CHARS}]+(?=(?:{'|'.join(map(re.escape, units))}))"
    )
    return _Rules(fillers=fillers, numeral_re=numeral_re)


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def _to_simplified(text: str) -> Tuple[str, int]:
    """Converts to Simplified keeping the length; returns the text and the changed-char count."""
    converter = _t2s()
    converted = converter.convert(text)
    if len(converted) != len(text):  # a phrase rule changed the length: fall back char by char
        converted = "".join(converter.convert(ch) for ch in text)
    changed = sum(1 for a, b in zip(text, converted) if a != b)
    return converted, changed


def _half_width(text: str) -> str:
    """Full-width ASCII forms (Ａ１，！) and the ideographic space → half-width; length kept."""
    out = []
    for ch in text:
        code = ord(ch)
        if code == 0x3000:
            out.append(" ")
        elif 0xFF01 <= code <= 0xFF5E:
            out.append(chr(code - 0xFEE0))
        else:
            out.append(ch)
    return "".join(out)


def _approximate(numeral: str) -> bool:
    match = _APPROXIMATE.search(numeral)
    return bool(match) and _DIGITS[match.group(2)] == _DIGITS[match.group(1)] + 1


def _numeral_value(numeral: str) -> Optional[str]:
    if numeral in _KEEP_AS_IS or _approximate(numeral):
        return None
    try:
        value = cn2an.cn2an(numeral, "smart")
    except (ValueError, KeyError, TypeError):
        return None
    return str(int(value)) if float(value).is_integer() else str(value)


def _edits(text: str, rules: _Rules) -> List[Tuple[int, int, str]]:
    """Non-overlapping (start, end, replacement) edits, in order."""
    edits: List[Tuple[int, int, str]] = []
    taken = [False] * len(text)

    def add(start: int, end: int, replacement: str) -> None:
        if any(taken[start:end]):
            return
        for i in range(start, end):
            taken[i] = True
        edits.append((start, end, replacement))

    for filler in rules.fillers:
        for match in re.finditer(re.escape(filler), text):
            end = match.end()
            # swallow the comma/blank that followed the filler ("嗯，我家楼下" → "我家楼下")
            while end < len(text) and text[end] in ",，、 ":
                end += 1
            add(match.start(), end, "")
    for match in rules.numeral_re.finditer(text):
        value = _numeral_value(match.group())
        clock = text.startswith(_CLOCK_UNITS, match.end()) and not text.startswith("时间", match.end())
        if value is not None and not (clock and float(value) > _CLOCK_MAX):
            add(match.start(), match.end(), value)
    for match in re.finditer(r"\s{2,}|[!?。！？,，]{2,}", text):
        add(match.start(), match.end(), match.group()[0])
    edits.sort()
    return edits


def _apply(text: str, edits: Sequence[Tuple[int, int, str]]) -> Tuple[str, List[int]]:
    out: List[str] = []
    offsets: List[int] = []
    pos = 0
    length = 0
    for start, end, replacement in edits:
        for ch in text[pos:start]:
            offsets.append(length)
            out.append(ch)
            length += 1
        # every original char of an edited run maps to the start of its replacement
        offsets.extend([length] * (end - start))
        out.append(replacement)
        length += len(replacement)
        pos = end
    for ch in text[pos:]:
        offsets.append(length)
        out.append(ch)
        length += 1
    offsets.append(length)
    return "".join(out), offsets


def normalise(text: str) -> Normalised:
    """Normalises a message; the result keeps the original and an offset map."""
    if not text:
        return Normalised(original=text or "", text="", offsets=[0])
    # NFC first: composed forms are what OpenCC's tables and jieba's dictionary hold.
    composed = unicodedata.normalize("NFC", text)
    if len(composed) != len(text):
        composed = text
    simplified, traditional_chars = _to_simplified(composed)
    half = _half_width(simplified)
    new_text, offsets = _apply(half, _edits(half, _rules()))
    # leading/trailing blanks left by removed fillers
    stripped_left = len(new_text) - len(new_text.lstrip())
    new_text = new_text.strip()
    offsets = [min(max(o - stripped_left, 0), len(new_text)) for o in offsets]
    return Normalised(
        original=text, text=new_text, offsets=offsets, traditional_chars=traditional_chars
    )

"""Resolve a place mentioned in a message to administrative divisions, with `cpca`.

`cpca` recognises province / city / district names (also their short forms) and returns the
6-digit administrative-division code. Short forms are ambiguous inside street names: "韶山路"
is a road in 长沙, not 韶山市. A short-form match followed by a street-like character is therefore
rejected. Finer levels (street, community, grid) are resolved by the routing backend's region tree.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Dict, Optional

logger = logging.getLogger(__name__)

# Characters that, right after a short admin name, make it part of a street or place name.
_PLACE_SUFFIXES = set("路街道巷弄村镇乡桥湖山门园苑城号栋里坊港庄塘")
_LEVELS = (("区", "区_pos"), ("市", "市_pos"), ("省", "省_pos"))


@dataclass(frozen=True)
class Division:
    """The finest administrative division a text names; codes follow GB/T 2260."""

    adcode: str
    province: Optional[str]
    city: Optional[str]
    district: Optional[str]
    rest: str  # the address left after the division names (street, estate, building)

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=1)
def _cpca():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import cpca  # loads its bundled division table (~0.4 s), so only on first use
    return cpca


def _is_genuine(text: str, name: Optional[str], pos: int) -> bool:
    """A match at `pos` is genuine if the full name is written, or the short form is not
    followed by a street-like character."""
    if not name or pos < 0:
        return True
    if text.startswith(name, pos):
        return True
    for cut in (len(name) - 1, len(name) - 2):  # 韶山市 → 韶山, 西湖区 → 西湖
        if cut >= 2 and text.startswith(name[:cut], pos):
            nxt = text[pos + cut: pos + cut + 1]
            return nxt not in _PLACE_SUFFIXES
    return True


def resolve_division(text: str) -> Optional[Division]:
    """The division named in `text`, or None if it names none (unambiguously)."""
    text = (text or "").strip()
    if not text:
        return None
    for _ in range(2):
        row = _cpca().transform([text], pos_sensitive=True).to_dict("records")[0]
        if not row.get("adcode"):
            return None
        if any(name and len(name) < 2 for name in (row.get("省"), row.get("市"), row.get("区"))):
            return None  # cpca read a bare "县"/"区" of an anonymised "K市K2县" as a name
        bad = [(row[key], row[pos_key]) for key, pos_key in _LEVELS
               if not _is_genuine(text, row.get(key), row.get(pos_key, -1))]
        if not bad:
            return Division(
                adcode=str(row["adcode"]),
                province=row.get("省"),
                city=row.get("市"),
                district=row.get("区"),
                rest=row.get("地址") or "",
            )
        # retry on the text before the false match ("长沙韶山路" → "长沙")
        text = text[: min(pos for _, pos in bad)].strip()
        if not text:
            return None
    return None

"""The region tree: lookup, ancestry and resolution of a location text to a region.

Resolution matches the names of the seeded regions in the text (full names such as 岳麓街道 and
short names such as 岳麓 / 桃子湖), prefers the deepest region whose ancestors are also named, and
falls back to the `cpca` administrative-division library for the district when no seeded name
matches (e.g. a text naming only the city and district in an unusual form).
"""
from __future__ import annotations

import re
import unicodedata
import warnings
from dataclasses import dataclass
from typing import Dict, List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.models import REGION_LEVELS, Region

LEVEL_RANK: Dict[str, int] = {lvl: i for i, lvl in enumerate(REGION_LEVELS)}  # city 0 … grid 4
_SUFFIXES = ("街道办事处", "街道", "社区居委会", "社区", "村委会", "村", "镇", "乡", "网格")
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def normalise_location(text: Optional[str]) -> Optional[str]:
    """A key for comparing addresses: NFKC (full-width → half-width), no spaces or punctuation."""
    if not text:
        return None
    key = _PUNCT.sub("", unicodedata.normalize("NFKC", text)).lower()
    return key[:300] or None


def ancestors(region: Optional[Region]) -> List[Region]:
    """The region and its ancestors, deepest first."""
    chain: List[Region] = []
    while region is not None:
        chain.append(region)
        region = region.parent
    return chain


def get_region(session: Session, code: str) -> Optional[Region]:
    return session.execute(select(Region).where(Region.code == code)).scalar_one_or_none()


def subtree_ids(session: Session, region: Region) -> List[int]:
    """Ids of the region and all its descendants."""
    rows = session.execute(select(Region.id, Region.parent_id)).all()
    children: Dict[Optional[int], List[int]] = {}
    for rid, pid in rows:
        children.setdefault(pid, []).append(rid)
    out, stack = [], [region.id]
    while stack:
        rid = stack.pop()
        out.append(rid)
        stack.extend(children.get(rid, []))
    return out


def region_at_level(region: Optional[Region], level: str) -> Optional[Region]:
    """The ancestor (or the region itself) at `level`, if the region is at that level or deeper."""
    for r in ancestors(region):
        if r.level == level:
            return r
    return None


def _short_name(name: str) -> Optional[str]:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return None


@dataclass
class _Candidate:
    region: Region
    full: bool


def resolve_text(session: Session, text: Optional[str]) -> Optional[Region]:
    if not text or not text.strip():
        return None
    clean = unicodedata.normalize("NFKC", text)
    regions = list(session.execute(select(Region)).scalars())
    candidates: Dict[int, _Candidate] = {}
    for region in regions:
        if region.name in clean:
            candidates[region.id] = _Candidate(region, True)
        else:
            short = _short_name(region.name)
            if short and short in clean and region.level != "grid":
                candidates.setdefault(region.id, _Candidate(region, False))
    full_names = [c.region.name for c in candidates.values() if c.full]
    for rid in [rid for rid, c in candidates.items() if not c.full]:
        short = _short_name(candidates[rid].region.name) or ""
        if any(short in name for name in full_names):
            del candidates[rid]  # "岳麓" inside "岳麓区" is not 岳麓街道
    if candidates:
        def score(c: _Candidate) -> tuple:
            support = sum(1 for a in ancestors(c.region) if a.id in candidates)
            return (support, LEVEL_RANK.get(c.region.level, 0), c.full)

        return max(candidates.values(), key=score).region
    return _resolve_with_cpca(session, clean)


def _resolve_with_cpca(session: Session, text: str) -> Optional[Region]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import cpca  # imports pandas: loaded only when needed

        frame = cpca.transform([text])
    except Exception:  # pragma: no cover - a library failure must not block intake
        return None
    if frame.empty:
        return None
    adcode = frame.iloc[0].get("adcode")
    if not adcode or not isinstance(adcode, str):
        return None
    for code in (adcode[:6], adcode[:4] + "00"):
        region = get_region(session, code)
        if region is not None:
            return region
    return None


def resolve_region(
    session: Session, region_code: Optional[str] = None, location_text: Optional[str] = None
) -> Optional[Region]:
    """A known region code wins; otherwise the location text is resolved; None if neither works."""
    if region_code:
        region = get_region(session, region_code)
        if region is not None:
            return region
    return resolve_text(session, location_text)

"""A shared map location → the district it most probably lies in.

Uses the county-level centroids bundled with `cpca` (the administrative-division library the NLU
already uses): the nearest centroid within :data:`MAX_DISTANCE_KM` wins. Districts are not circles,
so near a border this can be the neighbour — the result says ``method: nearest_district_centroid``
and carries the distance; the precise coordinates always go with it, and the routing backend or
an operator has the last word.
"""
from __future__ import annotations

import csv
import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

MAX_DISTANCE_KM = 40.0
METHOD = "nearest_district_centroid"


@dataclass(frozen=True)
class District:
    adcode: str        # 6 digits (GB/T 2260)
    province: Optional[str]
    city: Optional[str]
    district: str
    distance_km: float
    method: str = METHOD

    def as_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        data["distance_km"] = round(self.distance_km, 2)
        return data


def _adcodes_path() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("cpca")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("cpca is not installed")
    return Path(spec.origin).with_name("resources") / "adcodes.csv"


@lru_cache(maxsize=1)
def _table() -> Tuple[List[Tuple[str, str, float, float]], Dict[str, str]]:
    districts: List[Tuple[str, str, float, float]] = []
    names: Dict[str, str] = {}
    with open(_adcodes_path(), encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            code = row["adcode"][:6]
            names.setdefault(code, row["name"])
            try:
                lon, lat = float(row["longitude"]), float(row["latitude"])
            except (TypeError, ValueError):
                continue
            if code[4:6] != "00":
                districts.append((code, row["name"], lat, lon))
    return districts, names


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def nearest_district(latitude: float, longitude: float,
                     max_distance_km: float = MAX_DISTANCE_KM) -> Optional[District]:
    """The district whose centroid is nearest, or None if none is within `max_distance_km`
    (outside China, at sea, or bad coordinates)."""
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    try:
        districts, names = _table()
    except (OSError, KeyError):
        return None
    best: Optional[Tuple[float, str, str]] = None
    for code, name, lat, lon in districts:
        if abs(lat - latitude) > 1.5 or abs(lon - longitude) > 1.5:
            continue
        d = haversine_km(latitude, longitude, lat, lon)
        if best is None or d < best[0]:
            best = (d, code, name)
    if best is None or best[0] > max_distance_km:
        return None
    distance, code, name = best
    return District(adcode=code, province=names.get(code[:2] + "0000"), city=names.get(code[:4] + "00"),
                    district=name, distance_km=distance)

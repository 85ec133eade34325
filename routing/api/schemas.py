"""Request bodies (pydantic v1). Unknown fields and wrong types are refused with 422."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Union

from pydantic import BaseModel, Field, StrictBool, StrictStr, confloat, conint, conlist, constr


class Strict(BaseModel):
    class Config:
        extra = "forbid"
        anystr_strip_whitespace = True


class ReporterIn(Strict):
    name: Optional[constr(strict=True, max_length=100)] = None  # type: ignore[valid-type]
    phone: Optional[constr(strict=True, max_length=32)] = None  # type: ignore[valid-type]
    email: Optional[constr(strict=True, max_length=200)] = None  # type: ignore[valid-type]
    channel_identity: Optional[constr(strict=True, max_length=200)] = None  # type: ignore[valid-type]
    anonymous: StrictBool = False


class AttachmentIn(Strict):
    filename: constr(strict=True, min_length=1, max_length=255)  # type: ignore[valid-type]
    content_type: constr(strict=True, min_length=1, max_length=100) = "application/octet-stream"  # type: ignore[valid-type]
    size: conint(strict=True, ge=0)  # type: ignore[valid-type]
    url: Optional[constr(strict=True, max_length=2000)] = None  # type: ignore[valid-type]


class TicketCreate(Strict):
    text: StrictStr = Field(..., description="原始文本 original text as the reporter wrote or said it")
    channel: StrictStr = Field(..., description="telegram / sms / voice / web / hotline / wechat / open311 / api / other")
    normalised_text: Optional[StrictStr] = None
    event_type: Optional[StrictStr] = Field(None, description="catalogue code; null = not classified")
    nlu_confidence: Optional[confloat(ge=0, le=1)] = None  # type: ignore[valid-type]
    location_text: Optional[StrictStr] = None
    incident_time: Optional[StrictStr] = Field(None, description="发生时间 as the reporter said it (free text)")
    region_code: Optional[constr(strict=True, max_length=32)] = None  # type: ignore[valid-type]
    latitude: Optional[confloat(ge=-90, le=90)] = None  # type: ignore[valid-type]
    longitude: Optional[confloat(ge=-180, le=180)] = None  # type: ignore[valid-type]
    parties: conlist(Union[StrictStr, Dict[str, Any]], max_items=20) = []  # type: ignore[valid-type]
    urgent: StrictBool = False
    reporter: Optional[ReporterIn] = None
    attachments: conlist(AttachmentIn, max_items=20) = []  # type: ignore[valid-type]
    needs_operator: StrictBool = Field(False, description="the event type is a guess: to the intake desk for a person to confirm")


class ActionIn(Strict):
    note: Optional[StrictStr] = None
    reason: Optional[StrictStr] = None
    reply: Optional[StrictStr] = None
    department_code: Optional[StrictStr] = None
    level: Optional[constr(strict=True, regex=r"^(grid|village-community|township|county|city)$")] = None  # type: ignore[valid-type]
    into: Optional[StrictStr] = None


class ReporterProof(Strict):
    number: constr(strict=True, min_length=1, max_length=32)  # type: ignore[valid-type]
    channel_identity: Optional[constr(strict=True, max_length=200)] = None  # type: ignore[valid-type]
    phone_tail: Optional[constr(strict=True, regex=r"^\d{4}$")] = None  # type: ignore[valid-type]


class SupplementIn(ReporterProof):
    text: Optional[StrictStr] = None
    attachments: conlist(AttachmentIn, max_items=20) = []  # type: ignore[valid-type]


class UrgeIn(ReporterProof):
    note: Optional[StrictStr] = None


class RateIn(ReporterProof):
    rating: conint(strict=True, ge=1, le=5)  # type: ignore[valid-type]
    comment: Optional[StrictStr] = None


class ReopenIn(ReporterProof):
    note: StrictStr


class TokenOut(BaseModel):
    role: str
    name: str
    department: Optional[str]


def as_list(items: Optional[List[Any]]) -> List[Any]:
    return list(items or [])

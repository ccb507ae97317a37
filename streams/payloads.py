"""Payload models (the ``data`` of each event type) of the five upstream sources.

One pydantic v2 model per event type. The consumer validates with these and the published JSON
Schemas (docs/schemas/) are generated from them, so the contract and the code cannot drift.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

Crs = Literal["wgs84", "gcj02", "bd09"]
BusinessType = Literal["grocery", "convenience", "supermarket", "tobacco_liquor", "kiosk", "other"]
CreditGrade = Literal["A", "B", "C", "D"]
Text = Annotated[str, Field(min_length=1, max_length=256)]
LongText = Annotated[str, Field(min_length=1, max_length=2000)]
LicenceNo = Annotated[
    str, Field(pattern=r"^[0-9]{12}$", description="12 digits; the first six are the county")
]
Adcode = Annotated[int, Field(ge=110000, le=829999, description="GB/T 2260 six-digit region code")]
Id = Annotated[str, Field(min_length=1, max_length=64)]
IssueCode = Annotated[str, Field(pattern=r"^[A-Z][0-9]{2}$", description="issue code, e.g. B03")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Point(_Model):
    """A point as the upstream system measured it; stored as WGS-84 after conversion."""

    lon: float = Field(ge=73.0, le=136.0)
    lat: float = Field(ge=3.0, le=54.0)
    crs: Crs


class _Placed(_Model):
    """An event with a place: a point, or failing that an address whose region names place it."""

    point: Point | None = None
    address: Annotated[str, Field(min_length=1, max_length=256)] | None = None

    @model_validator(mode="after")
    def _somewhere(self) -> _Placed:
        if self.point is None and self.address is None:
            raise ValueError("point or address required")
        return self


# -- licence registry --------------------------------------------------------------------------------


class LicenceIssued(_Model):
    """``licence.issued``: a new retail licence (零售许可证), with everything the map needs."""

    licence_no: LicenceNo
    holder: Text
    shop_name: Text
    address: Text
    point: Point
    business_type: BusinessType
    credit_grade: CreditGrade
    valid_from: dt.date
    valid_to: dt.date

    @field_validator("valid_to")
    @classmethod
    def _validity(cls, valid_to: dt.date, info: ValidationInfo) -> dt.date:
        valid_from = info.data.get("valid_from")
        if valid_from is not None and valid_to <= valid_from:
            raise ValueError("must be after valid_from")
        if valid_from is not None and (valid_to - valid_from).days > 5 * 366:
            raise ValueError("a licence is valid for at most 5 years after valid_from")
        return valid_to


class LicenceChanged(_Model):
    """``licence.changed``: some registered details changed (at least one field besides the number)."""

    licence_no: LicenceNo
    holder: Text | None = None
    shop_name: Text | None = None
    address: Text | None = None
    point: Point | None = None
    business_type: BusinessType | None = None
    credit_grade: CreditGrade | None = None

    @model_validator(mode="after")
    def _something(self) -> LicenceChanged:
        if not self.model_dump(exclude_none=True).keys() - {"licence_no"}:
            raise ValueError("at least one changed field required besides licence_no")
        return self


class LicenceStatusChange(_Model):
    """``licence.suspended`` / ``licence.revoked`` / ``licence.expired``: the licence changes status."""

    licence_no: LicenceNo
    reason: Text


class LicenceRenewed(_Model):
    """``licence.renewed``: the licence is valid again until ``valid_to``."""

    licence_no: LicenceNo
    valid_to: dt.date


# -- enforcement app ----------------------------------------------------------------------------------


class InspectionCompleted(_Model):
    """``inspection.completed``: a market inspection (市场检查) of one licensed shop."""

    inspection_id: Id
    licence_no: LicenceNo
    inspector: Text
    unit: Text
    point: Point
    started_at: dt.datetime
    finished_at: dt.datetime
    outcome: Literal["ok", "issues_found"]
    issue_codes: list[Annotated[str, Field(pattern=r"^[A-Z][0-9]{2}$")]] = Field(
        default_factory=list, max_length=20
    )

    @model_validator(mode="after")
    def _consistent(self) -> InspectionCompleted:
        if self.finished_at < self.started_at:
            raise ValueError("finished_at must not be before started_at")
        if self.outcome == "issues_found" and not self.issue_codes:
            raise ValueError("issue_codes required when outcome is issues_found")
        if self.outcome == "ok" and self.issue_codes:
            raise ValueError("issue_codes must be empty when outcome is ok")
        return self


# -- case system ---------------------------------------------------------------------------------------

CaseKind = Literal[
    "counterfeit",
    "smuggled",
    "unlicensed_trade",
    "cross_region_goods",
    "licence_misuse",
    "beyond_scope_trade",
    "other",
]


class CaseOpened(_Placed):
    """``case.opened``: a case (案件) is opened; ``licence_no`` when a licensed shop is involved."""

    case_id: Id
    kind: CaseKind
    value_cny: float = Field(ge=0, le=1e10)
    packs: int = Field(ge=0, le=10_000_000)
    licence_no: LicenceNo | None = None


class CaseClosed(_Model):
    """``case.closed``: the case is closed with its result."""

    case_id: Id
    result: Literal["penalised", "transferred", "dismissed"]
    penalty_cny: float = Field(0, ge=0, le=1e10)


# -- logistics / code scanning -----------------------------------------------------------------------


class ScanRecorded(_Model):
    """``scan.recorded``: a carton code scanned somewhere; the carton was delivered to ``licence_no``."""

    carton_code: str = Field(pattern=r"^[0-9A-Z]{32}$")
    scanned_at: dt.datetime
    point: Point
    licence_no: LicenceNo
    licence_region: Adcode


# -- complaints line (12313) -------------------------------------------------------------------------


class ComplaintReceived(_Placed):
    """``complaint.received``: a complaint (举报) with its channel, category and text."""

    complaint_id: Id
    channel: Literal["hotline_12313", "web", "wechat", "letter", "visit"]
    category: Literal["counterfeit", "unlicensed_trade", "sale_to_minors", "price", "smuggled", "other"]
    text: LongText

"""Watchlist entry schemas: what an entry must state to be lawful, and how it reads back."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from zhian.governance.masking import IDENTIFIER_NAMES, identifiers_in, mask_identifiers
from zhian.governance.plates import PlateRefusedError, read_plate


def refuse_identifiers(text: str) -> None:
    """ValueError when free text carries a plate, ID-card or phone number in the clear: the
    label and notes of an entry are shown on every page, where identifiers stay masked."""
    found = identifiers_in(text)
    if found:
        kind, value = found[0]
        raise ValueError(
            f"carries a {IDENTIFIER_NAMES[kind]} in clear ({mask_identifiers(value)}); "
            "identifiers go in their own masked field (plate, subject_ref), never in free text"
        )


class LegalBasisKind(StrEnum):
    CASE = "case"  # 案件编号
    WARRANT = "warrant"  # 通缉令 / 拘留证
    MISSING_PERSON = "missing_person"  # 失踪人员报告
    STOLEN_VEHICLE = "stolen_vehicle"  # 被盗车辆报案


class WatchTarget(StrEnum):
    PLATE = "plate"
    PERSON = "person"


class WatchlistEntryCreate(BaseModel):
    """A new watchlist entry. A person needs a subject reference or a face feature."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    target: WatchTarget
    label: str = Field(min_length=1, max_length=200)
    plate: str | None = Field(default=None, max_length=16)
    subject_ref: str | None = Field(default=None, max_length=128)
    feature: str | None = None
    legal_basis_kind: LegalBasisKind
    legal_basis_ref: str = Field(min_length=3, max_length=128)
    jurisdiction_id: str = Field(min_length=1, max_length=64)
    expires_at: datetime
    tier: str = Field(default="general", pattern="^(minor|general|major)$")

    @field_validator("label")
    @classmethod
    def _label(cls, value: str) -> str:
        refuse_identifiers(value)
        return value

    @field_validator("plate")
    @classmethod
    def _plate(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        # The intake's plate rule: the same reading gives the same plate, hence the same
        # token the hits join on; a foreign or unusual plate is accepted (kind `other`).
        try:
            return read_plate(value)
        except PlateRefusedError as exc:
            raise ValueError(f"is not a plate number (e.g. 浙A12345): {exc}") from exc

    @field_validator("feature")
    @classmethod
    def _feature(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("is not valid base64") from None
        if len(raw) % 4 or not 128 <= len(raw) // 4 <= 512:
            raise ValueError("must be 128 to 512 float32 values, base64")
        return value

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("needs a timezone (e.g. 2026-12-31T23:59:59+08:00)")
        return value

    @model_validator(mode="after")
    def _target_fields(self) -> WatchlistEntryCreate:
        if self.target is WatchTarget.PLATE and self.plate is None:
            raise ValueError("a plate entry needs `plate`")
        if self.target is WatchTarget.PERSON and not (self.subject_ref or self.feature):
            raise ValueError("a person entry needs `subject_ref` or `feature`")
        return self


class WatchlistEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: int
    target: WatchTarget
    label: str
    plate: str | None
    subject_ref: str | None
    has_feature: bool
    legal_basis_kind: LegalBasisKind
    legal_basis_ref: str
    owner_user_id: int
    jurisdiction_id: str
    tier: str
    created_at: datetime
    expires_at: datetime
    withdrawn_at: datetime | None
    withdraw_reason: str | None


class WatchOrder(BaseModel):
    """A watchlist entry as a parent sends it down to the nodes below (布控下发): the
    identifiers in the clear, for the child to tokenise and seal with its own keys (its
    matcher needs them), withdrawn entries too so the child withdraws them (撤控)."""

    model_config = ConfigDict(frozen=True)

    entry_id: int
    target: WatchTarget
    label: str
    plate: str | None
    subject_ref: str | None
    feature: str | None
    legal_basis_kind: LegalBasisKind
    legal_basis_ref: str
    owner_user_id: int
    jurisdiction_id: str
    tier: str
    created_at: datetime
    expires_at: datetime
    withdrawn_at: datetime | None
    withdraw_reason: str | None

"""The case tables: cases (警情/案件), analysts' link decisions, linkage model versions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from zhian.db.base import Base, UtcDateTime


class Case(Base):
    """A case or incident: what happened (category, modus operandi), when (a window: a
    burglary is often found hours later), where (WGS84, matched to a building or house of
    the registry where it has one), and how far it got (status, solved). A solved case may
    hold its offender as a keyed token, never the identity: it labels linkage training."""

    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    category: Mapped[str] = mapped_column(String(64), index=True)
    time_from: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    time_to: Mapped[datetime] = mapped_column(UtcDateTime)
    time_of_day: Mapped[str] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(String(500))
    house_id: Mapped[str | None] = mapped_column(String(64))
    building_id: Mapped[str | None] = mapped_column(String(64))
    community_id: Mapped[str | None] = mapped_column(String(64))
    jurisdiction_id: Mapped[str] = mapped_column(String(64), index=True)
    latitude: Mapped[float] = mapped_column(Float, index=True)
    longitude: Mapped[float] = mapped_column(Float)
    mo: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(32))
    is_solved: Mapped[bool] = mapped_column(Boolean)
    offender_token: Mapped[str | None] = mapped_column(String(64), index=True)
    alert_id: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[int | None] = mapped_column(Integer)


class CaseLink(Base):
    """An analyst's decision on a suggested link between two cases (`case_a` < `case_b`):
    accepted links group cases into series; who decided, and when, is kept. The analyst's
    note may name a suspect: kept only sealed (context `case_links.note_enc:<a>/<b>`),
    NULL when there is none."""

    __tablename__ = "case_links"
    __table_args__ = (UniqueConstraint("case_a", "case_b"), Index("ix_case_links_case_b", "case_b"))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_a: Mapped[str] = mapped_column(String(64))
    case_b: Mapped[str] = mapped_column(String(64))
    is_accepted: Mapped[bool] = mapped_column(Boolean)
    probability: Mapped[float | None] = mapped_column(Float)
    model_version: Mapped[int | None] = mapped_column(Integer)
    note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    decided_by: Mapped[int] = mapped_column(Integer)
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LinkageModelVersion(Base):
    """One trained version of the linkage model, with its evaluation on a time-based
    held-out split (AUC of the model and of the distance/time baselines). One version is
    active; rolling back activates an earlier one."""

    __tablename__ = "linkage_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[int | None] = mapped_column(Integer)  # None: retrained automatically
    reason: Mapped[str] = mapped_column(String(200))
    labelled_cases: Mapped[int] = mapped_column(Integer)
    train_cases: Mapped[int] = mapped_column(Integer)
    test_cases: Mapped[int] = mapped_column(Integer)
    train_pairs: Mapped[int] = mapped_column(Integer)
    test_pairs: Mapped[int] = mapped_column(Integer)
    auc: Mapped[float | None] = mapped_column(Float)
    auc_distance: Mapped[float | None] = mapped_column(Float)
    auc_time: Mapped[float | None] = mapped_column(Float)
    auc_distance_time: Mapped[float | None] = mapped_column(Float)
    brier: Mapped[float | None] = mapped_column(Float)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    is_active: Mapped[bool] = mapped_column(Boolean)

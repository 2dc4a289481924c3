"""Governance settings (`[governance]`): keys, audit, retention, quality.

Owned here, assembled by `zhian.config.Settings`: a settings module imports nothing of
Zhian, so any module may import it (docs/configuration.md is generated from these).
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class GovernanceSettings(BaseModel):
    """Keys, retention per data class and data-quality goals (docs/governance.md)."""

    key_file: str = Field(
        default="",
        description=(
            "Key ring file (mode 0600). Empty means keys/zhian-keys.json in the workspace; "
            "a relative path is taken from the workspace."
        ),
    )
    key_env: str = Field(
        default="ZHIAN_KEYRING",
        description="Environment variable that, when set, holds the key ring's JSON instead.",
    )
    face_days: float = Field(
        default=30, gt=0, description="Days face captures are kept (watchlist hits are held)."
    )
    passage_days: float = Field(
        default=180, gt=0, description="Days access and vehicle passages are kept."
    )
    heartbeat_days: float = Field(default=30, gt=0, description="Days heartbeats are kept.")
    alarm_days: float = Field(default=1095, gt=0, description="Days device alarms are kept.")
    crowd_days: float = Field(default=365, gt=0, description="Days crowd counts are kept.")
    quarantine_days: float = Field(
        default=90, gt=0, description="Days refused input is kept in the quarantine."
    )
    audit_days: float = Field(default=1095, gt=0, description="Days audit entries are kept.")
    # 31, not 30: the intake's duplicate index is rebuilt from the log and needs
    # intake.max_age_days (30) plus intake.max_future_seconds of it; a node refuses to
    # start with less (zhian.governance.retention.check_log_days).
    log_days: float = Field(
        default=31,
        gt=0,
        description=(
            "Days the durable intake log keeps a segment after its last record arrived, once "
            "the event store and the rules have read it. At least intake.max_age_days plus "
            "intake.max_future_seconds (the duplicate window)."
        ),
    )
    image_grace_hours: float = Field(
        default=24,
        ge=0,
        description="An image no kept event refers to is removed only after this many hours.",
    )
    late_after_minutes: float = Field(
        default=5, gt=0, description="An event arriving later than this after its time is late."
    )
    valid_goal: float = Field(
        default=0.98, gt=0, le=1, description="Share of valid input each source should reach."
    )
    retention_daily: bool = Field(
        default=True,
        description="Run the retention purge once a day inside the running node (audited).",
    )
    retention_hour: int = Field(
        default=3,
        ge=0,
        le=23,
        description="Hour of the day (in the pages' UTC offset) the daily retention run starts.",
    )

"""The alert loop's settings (`[alerts]`) and the live feed's (`[live]`).

Owned here, assembled by `zhian.config.Settings`: a settings module imports nothing of
Zhian, so any module may import it (docs/configuration.md is generated from these).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class AlertSettings(BaseModel):
    """The alert loop: deadlines per tier, correlation, webhooks."""

    minor_feedback_seconds: int = Field(
        default=900, ge=60, description="Minor alerts: feedback (handled) within this time."
    )
    general_sign_seconds: int = Field(
        default=300, ge=60, description="General alerts: signed for within this time."
    )
    general_on_site_seconds: int = Field(
        default=900, ge=60, description="General alerts: an officer on site within this time."
    )
    major_response_seconds: int = Field(
        default=900,
        ge=60,
        description="Major alerts: response (responders on site) within this time.",
    )
    jurisdiction_deadlines: dict[str, dict[str, int]] = Field(
        default={},
        description=(
            "Per jurisdiction overrides of the four deadlines above, inherited by the "
            "jurisdictions below, e.g. {J-STATION = {general_sign_seconds = 180}}."
        ),
    )
    warn_before_seconds: int = Field(
        default=120, ge=0, description="Warn this long before a deadline runs out."
    )
    sla_tick_seconds: float = Field(
        default=1.0, gt=0, description="How often the SLA monitor checks deadlines."
    )
    correlation_window_seconds: int = Field(
        default=600,
        ge=0,
        description="Alerts at the same place within this time merge into one incident.",
    )
    webhook_max_attempts: int = Field(
        default=8, ge=1, description="Attempts to deliver one webhook message before giving up."
    )
    webhook_backoff_seconds: float = Field(
        default=1.0, gt=0, description="Pause after the first failed delivery; doubles each time."
    )
    webhook_backoff_max_seconds: float = Field(
        default=300.0, gt=0, description="Longest pause between two delivery attempts."
    )
    webhook_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Time a webhook receiver has to answer."
    )
    webhook_poll_seconds: float = Field(
        default=0.5, gt=0, description="How often the webhook worker looks for due deliveries."
    )


class LiveSettings(BaseModel):
    """The live feed (SSE): within one process, or across processes over PostgreSQL."""

    type: Literal["memory", "postgres"] = Field(
        default="memory",
        description=(
            "memory: pages see alerts raised in their own process only (one process runs "
            "web and workers). postgres: LISTEN/NOTIFY on the operational database, for "
            "web and workers in separate processes; needs a PostgreSQL database.url."
        ),
    )
    keep_seconds: float = Field(
        default=3600.0,
        gt=0,
        description=(
            "postgres: how long a published message is kept for listeners that catch up "
            "after a dropped connection."
        ),
    )
    reconnect_max_seconds: float = Field(
        default=30.0,
        gt=0,
        description="postgres: longest pause between a listener's attempts to reconnect.",
    )


# Push services of the common browsers (Chrome, Firefox, Safari, Edge): a subscription
# names one of these hosts (or a host below one), so the node posts nowhere else.
DEFAULT_PUSH_HOSTS = [
    "fcm.googleapis.com",
    "push.services.mozilla.com",
    "push.apple.com",
    "notify.windows.com",
]


class PushSettings(BaseModel):
    """Web Push (VAPID) notifications of new alerts to users' phones and browsers."""

    enabled: bool = Field(
        default=True,
        description="Send Web Push notifications (the VAPID key is made in the workspace).",
    )
    subject: str = Field(
        default="mailto:ops@zhian.invalid",
        description="The VAPID `sub` claim: a mailto: or https: contact for the push services.",
    )
    endpoint_hosts: list[str] = Field(
        default=DEFAULT_PUSH_HOSTS,
        description=(
            "Hosts a subscription's endpoint may name (the host itself or one below it); "
            "an internal push service goes here."
        ),
    )
    allow_http_endpoints: bool = Field(
        default=False,
        description="Accept http:// endpoints (a test receiver); real push services use https.",
    )
    ttl_seconds: int = Field(
        default=600, ge=0, description="How long a push service keeps an undelivered message."
    )
    timeout_seconds: float = Field(
        default=5.0, gt=0, description="How long to wait for a push service's answer."
    )

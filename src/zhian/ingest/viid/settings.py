"""The GA/T 1400 (VIID) server's and upward client's settings (`[viid]`).

Owned here, assembled by `zhian.config.Settings`: a settings module imports nothing of
Zhian, so any module may import it (docs/configuration.md is generated from these).
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class ViidSettings(BaseModel):
    """GA/T 1400 (视图库): the /VIID server and the upward client (docs/interop-viid.md)."""

    server_id: str = Field(
        default="00000000005030000001",
        pattern=r"^[0-9]{20}$",
        description=(
            "This node's 20-digit VIID platform ID: VIIDServerID, User-Identify of pushes and "
            "of the upward client, and the first 12 digits of generated notification IDs."
        ),
    )
    realm: str = Field(
        default="zhian-viid",
        min_length=1,
        description="Digest realm. HA1 stored per device includes it: changing it voids them.",
    )
    nonce_expiry_seconds: int = Field(
        default=300, ge=10, description="How long a Digest nonce from a 401 challenge is valid."
    )
    keepalive_interval_seconds: int = Field(
        default=60, ge=5, description="Keepalive interval expected from devices."
    )
    missed_keepalives: int = Field(
        default=3,
        ge=1,
        description="A session expires after this many intervals without a successful call.",
    )
    timezone_offset_hours: float = Field(
        default=8.0,
        ge=-14,
        le=14,
        description="Offset of the local time in yyyyMMddHHmmss fields (China: +8).",
    )
    face_quality: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description=(
            "`quality` given to face events: FaceObject carries no capture quality, and cameras "
            "upload only faces they already judged usable."
        ),
    )
    direction: str = Field(
        default="in",
        pattern=r"^(in|out)$",
        description=(
            "`direction` of access and vehicle events: VIID carries compass headings only "
            "(kept in the VIID object), not in/out."
        ),
    )
    page_size: int = Field(default=20, ge=1, description="Default PageRecordNum of GET queries.")
    max_page_size: int = Field(default=200, ge=1, description="Largest PageRecordNum served.")
    push_enabled: bool = Field(
        default=True,
        description="Run the subscription pusher and the upward client while the node runs.",
    )
    push_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often the pusher looks for due subscriptions."
    )
    push_batch_size: int = Field(
        default=10, ge=1, le=100, description="Most objects in one SubscribeNotifications POST."
    )
    push_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Timeout of one push to a subscriber's ReceiveAddr."
    )
    receive_networks: str = Field(
        default="127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16",
        description=(
            "Comma-separated networks a subscription's ReceiveAddr may point into (literal IPs "
            "or localhost only), so a subscriber cannot make the node post anywhere."
        ),
    )
    upper_url: str = Field(
        default="",
        description=(
            "Base URL of the upper VIID platform (http://host:port); empty: no upward link."
        ),
    )
    upper_platform_id: str = Field(
        default="",
        description=(
            "20-digit ID of the upper platform; its subscriptions (User-Identify) are delivered "
            "through the upward client, cached while it is unreachable."
        ),
    )
    upper_username: str = Field(
        default="", description="Digest username at the upper platform (default: server_id)."
    )
    upper_password: SecretStr = Field(
        default=SecretStr(""),
        description="Digest password at the upper platform. Set ZHIAN_VIID__UPPER_PASSWORD.",
    )
    upper_keepalive_interval_seconds: float = Field(
        default=30.0, gt=0, description="Keepalive interval towards the upper platform."
    )
    upper_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Timeout of one request to the upper platform."
    )
    upper_retries: int = Field(
        default=3,
        ge=0,
        description="Retries of a notification before the link is re-registered; it stays cached.",
    )
    upper_backoff_initial_seconds: float = Field(
        default=1.0,
        gt=0,
        description=(
            "First pause before registering with the upper platform again after a refused "
            "registration or an unacknowledged notification."
        ),
    )
    upper_backoff_max_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Longest such pause: it doubles per failure in a row up to this, jittered.",
    )

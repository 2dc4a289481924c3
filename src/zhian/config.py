"""One Settings object, built at start-up from `zhian.toml` and `ZHIAN_*` variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_FILE_NAME = "zhian.toml"


class DatabaseSettings(BaseModel):
    """The operational database (master data, quarantine, users)."""

    url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL. Empty means SQLite in the workspace (the embedded default); "
            "e.g. postgresql+psycopg://user@127.0.0.1:5432/zhian for the scaled tier."
        ),
    )
    echo: bool = Field(default=False, description="Log every SQL statement (debugging only).")


class IntakeSettings(BaseModel):
    """Limits the event intake applies to every protocol."""

    max_body_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024, description="Largest request body accepted, in bytes."
    )
    max_batch_items: int = Field(
        default=10_000, ge=1, description="Most events accepted in one request or file chunk."
    )
    max_future_seconds: int = Field(
        default=600,
        ge=0,
        description="How far an event's time may lie ahead of the server clock (clock skew).",
    )
    max_age_days: float = Field(
        default=30.0,
        gt=0,
        description=(
            "Oldest event time accepted, in days before now. Also bounds the duplicate "
            "index: a duplicate older than this is rejected as too old instead."
        ),
    )
    directory_refresh_seconds: float = Field(
        default=30.0,
        gt=0,
        description=(
            "How often a running node reloads its device directory, to see changes by "
            "another process that no event asks about (a device disabled). A device "
            "imported or enabled elsewhere is looked up at its first event."
        ),
    )


class LogSettings(BaseModel):
    """The durable event log; `type` picks the backend, which owns the other settings."""

    type: Literal["local", "nats"] = Field(
        default="local",
        description=(
            "Log backend: local (segment files in the workspace, the embedded tier). nats "
            "(JetStream, the scaled tier) is reserved: a node refuses to start with it until "
            'the issue "The scaled tier" builds it.'
        ),
    )
    # The local backend's settings.
    fsync: bool = Field(
        default=True,
        description=(
            "fsync each group commit before acknowledging. Turn off only for throwaway runs."
        ),
    )
    segment_bytes: int = Field(
        default=256 * 1024 * 1024, ge=1024 * 1024, description="Size at which a log segment rolls."
    )


class StoreSettings(BaseModel):
    """The analytical event store (DuckDB on the embedded tier)."""

    batch_events: int = Field(
        default=20_000, ge=1, description="Most events the store appends in one transaction."
    )
    poll_seconds: float = Field(
        default=0.2, gt=0, description="How often the store looks for new events in the log."
    )


class ImageSettings(BaseModel):
    """Uploaded images (face captures, vehicle snapshots)."""

    max_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1024, description="Largest image accepted, in bytes."
    )


class WebSettings(BaseModel):
    """The HTTP server."""

    host: str = Field(default="127.0.0.1", description="Address the server listens on.")
    port: int = Field(default=8600, ge=1, le=65535, description="Port the server listens on.")
    secret_key: SecretStr = Field(
        default=SecretStr(""),
        description=(
            "Key that signs session cookies. Set it in ZHIAN_WEB__SECRET_KEY, not the file."
        ),
    )
    csrf_enforced: bool = Field(
        default=True,
        description=(
            "Refuse unsafe requests (POST, PUT, PATCH, DELETE) authenticated by the session "
            "cookie unless they carry the session's CSRF token (docs/dev/csrf.md)."
        ),
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed sign-ins of one username before it is locked."
    )
    login_ip_max_failures: int = Field(
        default=20,
        ge=1,
        description="Failed sign-ins from one client address before it is locked "
        "(higher: offices share addresses).",
    )
    login_lock_seconds: int = Field(
        default=60, ge=1, description="Length of the first lock; each next lock doubles it."
    )
    login_lock_max_seconds: int = Field(
        default=3600, ge=1, description="Longest lock after repeated failures."
    )
    login_failure_window_seconds: int = Field(
        default=900,
        ge=1,
        description="Failures and locks are forgotten after this long without a new failure.",
    )
    api_token_max_days: int = Field(
        default=365, ge=1, description="Longest lifetime of an API token, in days."
    )
    workers: int = Field(
        default=1,
        ge=1,
        description=(
            "Web processes `zhian serve` starts (uvicorn workers). More than one needs a "
            "log that several processes can append to; the local log allows one."
        ),
    )


class WorkerSettings(BaseModel):
    """How the node's work is split between processes (docs/deploy-processes.md)."""

    separate: bool = Field(
        default=False,
        description=(
            "Run the background loops in their own `zhian worker` process; `zhian serve` "
            "then runs the web only. False (the embedded default): `zhian serve` runs "
            "everything in one process, as `zhian serve --all` does."
        ),
    )
    query_host: str = Field(
        default="127.0.0.1",
        description=(
            "Loopback address where the worker answers the web's event-store queries "
            "(a token in the workspace guards it; a non-loopback address is refused)."
        ),
    )
    query_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description=(
            "Port of the worker's event-store query endpoint; 0 picks a free one (the "
            "worker writes where it listens into the workspace)."
        ),
    )


class PageSettings(BaseModel):
    """The web pages: display time zone, list sizes, the live feed, uploads."""

    utc_offset_minutes: int = Field(
        default=480,
        ge=-720,
        le=840,
        description="Offset from UTC of the times the pages show, in minutes (480 = +08:00).",
    )
    alerts_per_page: int = Field(
        default=50, ge=5, le=500, description="Rows per page of the alert wall."
    )
    live_keepalive_seconds: float = Field(
        default=15.0,
        gt=0,
        le=300,
        description="Idle seconds after which the live feed (SSE) sends a keep-alive comment.",
    )
    countdown_warning_seconds: int = Field(
        default=180,
        ge=0,
        description="A countdown on the pages turns to a warning colour this many seconds "
        "before its deadline.",
    )
    max_attachments: int = Field(
        default=6, ge=0, le=50, description="Most photos attached to one handling feedback."
    )


class RuleSettings(BaseModel):
    """Streaming rules: thresholds of device health, access patterns and watchlist hits."""

    offline_seconds: int = Field(
        default=900,
        ge=60,
        description="Silence (no heartbeat, no event) after which a device counts as offline.",
    )
    offline_seconds_by_kind: dict[str, int] = Field(
        default={},
        description=(
            "Per device kind override of offline_seconds, e.g. {smoke_sensor = 3600} for "
            "sensors that report hourly."
        ),
    )
    online_sample_seconds: int = Field(
        default=300,
        ge=10,
        description="How often the online rate per community and kind is sampled.",
    )
    denied_count: int = Field(
        default=3, ge=2, description="Denied reads at one door that make a forced-entry attempt."
    )
    denied_window_seconds: int = Field(
        default=300, ge=10, description="Window in which denied_count denied reads must fall."
    )
    tailgating_seconds: int = Field(
        default=15,
        ge=1,
        description=(
            "A denied read by one subject followed within this many seconds by a granted read "
            "of another subject at the same door is a tailgating attempt."
        ),
    )
    plate_tolerance: int = Field(
        default=1,
        ge=0,
        le=1,
        description="Characters a plate may differ from a watchlist plate (a misread) and hit.",
    )
    face_threshold: float = Field(
        default=0.85,
        gt=0,
        le=1,
        description="Cosine similarity from which a face feature hits a watchlist person.",
    )
    batch_events: int = Field(
        default=5000, ge=1, description="Most log records the rule engine reads in one step."
    )
    poll_seconds: float = Field(
        default=0.02, gt=0, description="How often the rule engine looks for new log records."
    )
    evaluate_seconds: float = Field(
        default=1.0, gt=0, description="How often timer rules (device offline) are evaluated."
    )


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


class MqttSettings(BaseModel):
    """The MQTT subscriber for IoT sensors (docs/deploy-mqtt.md)."""

    enabled: bool = Field(
        default=False, description="Subscribe to the broker while the node runs (`zhian serve`)."
    )
    host: str = Field(default="127.0.0.1", description="Address of the MQTT broker.")
    port: int = Field(default=1883, ge=1, le=65535, description="Port of the MQTT broker.")
    client_id: str = Field(
        default="zhian-node",
        min_length=1,
        max_length=64,
        description=(
            "MQTT client id. Keep it stable: the broker keeps the session (subscriptions and "
            "unacknowledged messages) under this id across restarts."
        ),
    )
    topic_prefix: str = Field(
        default="zhian",
        min_length=1,
        pattern=r"^[^#+]+$",
        description=(
            "First topic level; Zhian subscribes to <prefix>/+/+/+ (community/device/type)."
        ),
    )
    username: str = Field(
        default="", description="User name at the broker; empty for none. ZHIAN_MQTT__USERNAME."
    )
    password: SecretStr = Field(
        default=SecretStr(""),
        description="Password at the broker. Set it in ZHIAN_MQTT__PASSWORD, not the file.",
    )
    keepalive_seconds: int = Field(
        default=60, ge=5, le=65535, description="MQTT keepalive interval, in seconds."
    )
    session_expiry_seconds: int = Field(
        default=7 * 86400,
        ge=0,
        description=(
            "How long the broker keeps Zhian's session and its queued messages while Zhian "
            "is away, in seconds (MQTT 5 session expiry)."
        ),
    )
    reconnect_min_seconds: int = Field(
        default=1, ge=1, description="First wait before reconnecting after the broker is lost."
    )
    reconnect_max_seconds: int = Field(
        default=60, ge=1, description="Longest wait between reconnection attempts (it doubles)."
    )
    batch_max_messages: int = Field(
        default=500,
        ge=1,
        le=65535,
        description=(
            "Most messages handed to the intake together; also the MQTT 5 receive maximum "
            "(unacknowledged messages the broker may send at once)."
        ),
    )
    batch_max_ms: float = Field(
        default=10.0,
        gt=0,
        description="Longest wait for a batch to fill before it goes to the intake, in ms.",
    )


class FerrySettings(BaseModel):
    """Ferry packages: events and images as files across a one-way gateway (docs/ferry.md)."""

    max_events_per_package: int = Field(
        default=100_000, ge=1, description="Most events one exported package holds."
    )
    watch_poll_seconds: float = Field(
        default=2.0, gt=0, description="How often `zhian ferry watch` looks for new packages."
    )


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


class ModelSettings(BaseModel):
    """Batch analytic models (docs/models.md): schedule and default parameters; each
    community may override a parameter on the models page."""

    enabled: bool = Field(default=True, description="Run the batch models in a feeding node.")
    interval_minutes: float = Field(default=60, gt=0, description="Minutes between model runs.")
    utc_offset_hours: float = Field(
        default=8, description="Offset of local time, for nights, days and allowed hours."
    )
    lookback_days: int = Field(
        default=60, ge=1, description="History a run reads for last sightings and presence."
    )
    unregistered_min_nights: int = Field(
        default=10, ge=1, description="Nights present (of the window) before a registration task."
    )
    unregistered_window_days: int = Field(
        default=14, ge=1, description="Window of the unregistered-resident model, in days."
    )
    visitor_grace_days: int = Field(
        default=60,
        ge=0,
        description="A declared visitor pass (kind visitor) stays this many days before it "
        "counts as residence (visiting relatives).",
    )
    unregistered_face_similarity_floor: float = Field(
        default=0.6,
        gt=0,
        le=1,
        description="Least cosine similarity between the face captured as an unregistered "
        "resident passes and a resident's enrolled face for that resident to be offered as one "
        "of the top 3 registry candidates (registered elsewhere, 人户分离).",
    )
    moved_out_absent_days: int = Field(
        default=21, ge=1, description="Days without any passage before a resident seems moved out."
    )
    vacant_absent_days: int = Field(
        default=14, ge=1, description="Days every registered resident of a house is absent."
    )
    utility_water_baseline_m3: float = Field(
        default=0.05,
        ge=0,
        description="Water per day above which a house's utility reading counts as consumption, "
        "in m³.",
    )
    utility_electricity_baseline_kwh: float = Field(
        default=2.0,
        ge=0,
        description="Electricity per day above which a reading counts as consumption, in kWh "
        "(a fridge on standby stays below).",
    )
    utility_occupied_share: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Share of the absent days with consumption above which a house is lived in, "
        "not vacant.",
    )
    group_rental_m2_per_person: float = Field(
        default=5.0, gt=0, description="Least floor area per regular occupant, in m²."
    )
    group_rental_min_occupants: int = Field(
        default=5, ge=2, description="Fewest regular occupants before a house can be crowded."
    )
    group_rental_min_days: int = Field(
        default=7,
        ge=1,
        description="Days (of the window) someone passes a house's own door to be a regular "
        "occupant.",
    )
    group_rental_window_days: int = Field(
        default=14, ge=1, description="Window of the group-rental model, in days."
    )
    zombie_absent_days: int = Field(
        default=7, ge=1, description="Days a vehicle stays in after entering, without passage."
    )
    muck_allowed_from_hour: int = Field(
        default=22, ge=0, le=23, description="Local hour from which muck trucks may enter."
    )
    muck_allowed_until_hour: int = Field(
        default=5, ge=0, le=23, description="Local hour until which muck trucks may enter."
    )
    casing_min_units: int = Field(
        default=5, ge=2, description="Distinct unit doors a non-resident enters within the window."
    )
    casing_window_minutes: int = Field(
        default=30, ge=1, description="Window of the unit-door casing rule, in minutes."
    )
    casing_min_communities: int = Field(
        default=3, ge=2, description="Communities an unknown face enters in one local day."
    )
    # 72 h, not 48: a retiree who stays in one whole day, came home in the morning and goes
    # out the next afternoon is unseen for 50+ hours on an ordinary week (measured in the
    # simulator's 5-seed evaluation, docs/models.md §7); a person taken ill at home is still
    # found on the third day.
    welfare_silent_hours: float = Field(
        default=72,
        gt=0,
        description="Hours an opted-in resident, last seen coming home, may pass unseen.",
    )


class CrowdSettings(BaseModel):
    """Crowd safety (docs/crowd.md): density levels, hysteresis, forecast and staffing."""

    levels: list[float] = Field(
        default=[0.5, 1.0, 1.5, 2.5, 4.0],
        min_length=5,
        max_length=5,
        description=(
            "Persons/m² from which a zone is busy, pre-warning, warning (the field's "
            "threshold), danger and critical; below the first it is free."
        ),
    )
    hysteresis: list[float] = Field(
        default=[0.05, 0.1, 0.1, 0.2, 0.3],
        min_length=5,
        max_length=5,
        description=(
            "Persons/m² below each level's threshold the density must fall before the zone "
            "leaves that level (one margin per entry of levels)."
        ),
    )
    forecast_minutes: int = Field(
        default=20, ge=10, le=60, description="How far ahead the occupancy forecast looks."
    )
    forecast_probability: float = Field(
        default=0.5,
        gt=0,
        lt=1,
        description=(
            "Probability of crossing the warning level within forecast_minutes from which "
            "a forecast warning is raised."
        ),
    )
    forecast_min_density: float = Field(
        default=0.5,
        ge=0,
        description="Persons/m² a zone must hold now before its forecast may raise a warning.",
    )
    persons_per_officer: list[int] = Field(
        default=[0, 2000, 1000, 500, 300, 200],
        min_length=6,
        max_length=6,
        description=(
            "Staffing ratio: people one officer covers at each level (free, busy, "
            "pre-warning, warning, danger, critical); 0 means no officer is needed."
        ),
    )
    camera_error: float = Field(
        default=0.05,
        gt=0,
        le=1,
        description="Relative standard error of a camera occupancy reading (the reconciler).",
    )
    line_error: float = Field(
        default=0.05,
        gt=0,
        le=1,
        description="Relative standard error of a counting line's in/out counts (drift).",
    )


class Settings(BaseSettings):
    """Every setting of a Zhian node. Build with `load_settings`, never at import."""

    model_config = SettingsConfigDict(
        env_prefix="ZHIAN_", env_nested_delimiter="__", extra="forbid"
    )
    toml_path: ClassVar[Path | None] = None

    workspace: Path = Field(
        default=Path("workspace"), description="Folder that holds this node's data and config."
    )
    database: DatabaseSettings = DatabaseSettings()
    intake: IntakeSettings = IntakeSettings()
    log: LogSettings = LogSettings()
    store: StoreSettings = StoreSettings()
    images: ImageSettings = ImageSettings()
    web: WebSettings = WebSettings()
    worker: WorkerSettings = WorkerSettings()
    mqtt: MqttSettings = MqttSettings()
    ferry: FerrySettings = FerrySettings()
    pages: PageSettings = PageSettings()
    rules: RuleSettings = RuleSettings()
    alerts: AlertSettings = AlertSettings()
    live: LiveSettings = LiveSettings()
    governance: GovernanceSettings = GovernanceSettings()
    viid: ViidSettings = ViidSettings()
    crowd: CrowdSettings = CrowdSettings()
    models: ModelSettings = ModelSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if cls.toml_path is not None and cls.toml_path.exists():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls.toml_path))
        return tuple(sources)

    @model_validator(mode="after")
    def _live_feed_needs_postgres(self) -> Settings:
        # Refused here, before a node opens anything, rather than at the first page.
        if self.live.type == "postgres" and not self.database_url.startswith("postgresql"):
            raise ValueError(
                'live.type = "postgres" needs a PostgreSQL database.url; this node\'s '
                'database is SQLite. Use live.type = "memory" (one process runs the web '
                "and the background loops) or move the database to PostgreSQL."
            )
        return self

    # Paths inside the workspace; one place decides the layout.
    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite:///{(self.workspace / 'zhian.db').resolve()}"

    @property
    def log_dir(self) -> Path:
        return self.workspace / "log"

    @property
    def duplicate_index_path(self) -> Path:
        return self.workspace / "intake-keys.sqlite3"

    @property
    def event_store_path(self) -> Path:
        return self.workspace / "events.duckdb"

    @property
    def blob_dir(self) -> Path:
        return self.workspace / "blobs"

    @property
    def worker_endpoint_file(self) -> Path:
        """Where a running worker publishes its loopback query endpoint and token."""
        return self.workspace / "worker-endpoint.json"

    @property
    def web_endpoint_file(self) -> Path:
        """Where a web process (the log's writer) publishes its loopback endpoint."""
        return self.workspace / "web-endpoint.json"


def load_settings(workspace: Path | None = None, **overrides: Any) -> Settings:
    """Settings of a workspace: its zhian.toml, then ZHIAN_* variables, then overrides."""
    import os

    chosen = workspace or Path(os.environ.get("ZHIAN_WORKSPACE", "workspace"))
    # A ClassVar is the documented way to hand a file path to a settings source.
    Settings.toml_path = chosen / CONFIG_FILE_NAME
    try:
        return Settings(workspace=chosen, **overrides)
    finally:
        Settings.toml_path = None


def _sections() -> list[tuple[str, type[BaseModel]]]:
    return [
        (name, info.annotation)
        for name, info in Settings.model_fields.items()
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)
    ]


def _toml_value(value: object) -> str:
    if isinstance(value, SecretStr):
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if value is None:
        return '""'
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def default_config_toml() -> str:
    """A zhian.toml with every setting commented out at its default, with its meaning."""
    lines = [
        "# Zhian node configuration. Every setting is shown at its default, commented out.",
        "# Environment variables override this file: ZHIAN_<SECTION>__<NAME>,",
        "# e.g. ZHIAN_DATABASE__URL. Keep secrets in the environment, not in this file.",
    ]
    for section, model in _sections():
        lines += ["", f"[{section}]"]
        for name, info in model.model_fields.items():
            lines.append(f"# {info.description}")
            lines.append(f"# {name} = {_toml_value(info.default)}")
    return "\n".join(lines) + "\n"


def config_reference_markdown() -> str:
    """The configuration reference in docs/, generated so it cannot drift from the code."""
    out = [
        "# Configuration reference",
        "",
        "Generated from `zhian.config` by `zhian docs config`; a test fails when it drifts.",
        "Settings come from `zhian.toml` in the workspace, then `ZHIAN_*` environment",
        "variables (`ZHIAN_<SECTION>__<NAME>`), which win.",
    ]
    for section, model in _sections():
        out += ["", f"## `[{section}]`", "", "| setting | environment | default | meaning |"]
        out.append("|---|---|---|---|")
        for name, info in model.model_fields.items():
            env = f"ZHIAN_{section.upper()}__{name.upper()}"
            default = _toml_value(info.default)
            out.append(f"| `{name}` | `{env}` | `{default}` | {info.description} |")
    return "\n".join(out) + "\n"

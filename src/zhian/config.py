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

from zhian.alerts.settings import AlertSettings, LiveSettings, PushSettings

# Each backend, domain and model owns its settings section; this module assembles them
# (and re-exports them, so `from zhian.config import LogSettings` keeps working).
from zhian.assessment.settings import AssessmentSettings
from zhian.cascade.settings import ParentSettings
from zhian.cases.settings import CaseSettings
from zhian.db.settings import DatabaseSettings
from zhian.governance.settings import GovernanceSettings
from zhian.ingest.ferry.settings import FerrySettings
from zhian.ingest.mqtt.settings import MqttSettings
from zhian.ingest.settings import ImageSettings, IntakeSettings
from zhian.ingest.viid.settings import ViidSettings
from zhian.log.settings import LogSettings
from zhian.maps.settings import MapSettings
from zhian.models.settings import BatchSettings, ModelSettings
from zhian.registry.settings import RegistrySettings
from zhian.reports.settings import ReportSettings
from zhian.rules.settings import CrowdSettings, RuleSettings
from zhian.search.settings import FaceSearchSettings
from zhian.store.settings import StoreSettings
from zhian.tips.settings import TipSettings

CONFIG_FILE_NAME = "zhian.toml"

__all__ = [
    "CONFIG_FILE_NAME",
    "AlertSettings",
    "AssessmentSettings",
    "BatchSettings",
    "CaseSettings",
    "CrowdSettings",
    "DatabaseSettings",
    "FaceSearchSettings",
    "FerrySettings",
    "GovernanceSettings",
    "ImageSettings",
    "IntakeSettings",
    "LiveSettings",
    "LogSettings",
    "LoggingSettings",
    "MapSettings",
    "ModelSettings",
    "MqttSettings",
    "PageSettings",
    "ParentSettings",
    "PushSettings",
    "ReportSettings",
    "RuleSettings",
    "Settings",
    "StoreSettings",
    "TipSettings",
    "ViidSettings",
    "WebSettings",
    "WorkerSettings",
    "config_reference_markdown",
    "default_config_toml",
    "load_settings",
]


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
    metrics_on_loopback: bool = Field(
        default=True,
        description=(
            "Answer `GET /metrics` to clients on this machine (127.0.0.1, ::1) without a "
            "token, for a Prometheus agent beside the node. Turn off behind a reverse proxy "
            "on the same machine; `/api/v1/metrics` with an API token works either way."
        ),
    )
    workers: int = Field(
        default=1,
        ge=1,
        description=(
            "Intake and web processes `zhian serve` starts on one port (SO_REUSEPORT; "
            '`--workers` overrides). More than one needs log.type = "nats": the local log '
            "admits one writing process."
        ),
    )


class LoggingSettings(BaseModel):
    """What each process writes to its log (stderr; docs/operations.md)."""

    format: Literal["text", "json"] = Field(
        default="text",
        description=(
            "text: one readable line per record; json: one JSON object per line (time, "
            "level, logger, message, pid, request_id), for a log shipper."
        ),
    )
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="WARNING", description="Records below this level are not written."
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
    todos_shown: int = Field(
        default=30,
        ge=1,
        le=1000,
        description="To-dos the workbench lists in each of its two lists, most urgent first; "
        "the rest are counted, behind a link that lists them all.",
    )
    figures_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="Longest time the workbench's figures and to-dos, the alert wall's rows and "
        "a user's jurisdiction scope are reused for the same scope or user; any live-feed "
        "message (every change of an alert sends one) drops them at once. 0 computes them "
        "on every request.",
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
    logging: LoggingSettings = LoggingSettings()
    mqtt: MqttSettings = MqttSettings()
    ferry: FerrySettings = FerrySettings()
    pages: PageSettings = PageSettings()
    rules: RuleSettings = RuleSettings()
    alerts: AlertSettings = AlertSettings()
    live: LiveSettings = LiveSettings()
    push: PushSettings = PushSettings()
    governance: GovernanceSettings = GovernanceSettings()
    cases: CaseSettings = CaseSettings()
    viid: ViidSettings = ViidSettings()
    parent: ParentSettings = ParentSettings()
    crowd: CrowdSettings = CrowdSettings()
    faces: FaceSearchSettings = FaceSearchSettings()
    map: MapSettings = MapSettings()
    reports: ReportSettings = ReportSettings()
    assessment: AssessmentSettings = AssessmentSettings()
    registry: RegistrySettings = RegistrySettings()
    tips: TipSettings = TipSettings()
    models: ModelSettings = ModelSettings()
    batch: BatchSettings = BatchSettings()

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

    @model_validator(mode="after")
    def _spark_needs_parquet(self) -> Settings:
        if self.batch.engine == "spark" and self.store.type != "parquet":
            raise ValueError(
                'batch.engine = "spark" reads the Parquet store: set store.type = "parquet" '
                f'(it is "{self.store.type}"), or batch.engine = "duckdb".'
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
    def parquet_store_path(self) -> Path:
        """The Parquet event store's folder (store.type = "parquet"); for a store in an
        S3-compatible bucket (`s3://…`), the local folder of its writer's lock."""
        if self.store.parquet_path.startswith("s3://"):
            return self.workspace / "events-parquet-s3"
        if self.store.parquet_path:
            return Path(self.store.parquet_path)
        return self.workspace / "events-parquet"

    @property
    def active_event_store_path(self) -> Path:
        """Where the event store `store.type` names lives (a file or a folder)."""
        if self.store.type == "parquet":
            return self.parquet_store_path
        return self.event_store_path

    @property
    def blob_dir(self) -> Path:
        return self.workspace / "blobs"

    @property
    def vapid_key_path(self) -> Path:
        """The node's VAPID private key for Web Push (made on first use, owner-only)."""
        return self.workspace / "keys" / "vapid-private.pem"

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

"""One Settings object, built at start-up from `zhian.toml` and `ZHIAN_*` variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, Field, SecretStr
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


class LogSettings(BaseModel):
    """The durable event log (in-process implementation of the embedded tier)."""

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
    def event_store_path(self) -> Path:
        return self.workspace / "events.duckdb"

    @property
    def blob_dir(self) -> Path:
        return self.workspace / "blobs"


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

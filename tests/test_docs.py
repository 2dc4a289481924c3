"""Docs are checked against the code, so they cannot drift."""

from __future__ import annotations

from pathlib import Path

import msgspec
from typer.testing import CliRunner

from zhian.cli.main import app
from zhian.config import config_reference_markdown, default_config_toml, load_settings
from zhian.ingest.events import (
    AccessEvent,
    AlarmEvent,
    CrowdEvent,
    FaceEvent,
    HeartbeatEvent,
    VehicleEvent,
)
from zhian.metrics.catalogue import LATER, markdown_table

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_configuration_reference_is_current() -> None:
    written = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert written == config_reference_markdown(), "run `zhian docs config` and commit the result"


def test_event_schema_doc_names_every_field_of_every_type() -> None:
    text = (DOCS / "events.md").read_text(encoding="utf-8")
    for event_type in (
        AccessEvent,
        VehicleEvent,
        FaceEvent,
        AlarmEvent,
        HeartbeatEvent,
        CrowdEvent,
    ):
        tag = event_type.__struct_config__.tag
        assert f"`{tag}`" in text
        for field in msgspec.structs.fields(event_type):
            assert f"`{field.encode_name}`" in text, f"{tag}.{field.encode_name} is undocumented"


def test_init_writes_a_commented_default_config_that_loads(tmp_path: Path) -> None:
    workspace = tmp_path / "node"
    result = CliRunner().invoke(app, ["init", "--workspace", str(workspace)])

    assert result.exit_code == 0, result.output
    config = (workspace / "zhian.toml").read_text(encoding="utf-8")
    assert config == default_config_toml()
    assert (workspace / "zhian.db").exists()
    # Every line is a comment or a section: the defaults apply until someone edits it.
    settings = load_settings(workspace)
    assert settings.intake.max_future_seconds == 600


def test_config_file_and_environment_override_defaults(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    workspace = tmp_path / "node"
    workspace.mkdir()
    (workspace / "zhian.toml").write_text("[intake]\nmax_age_days = 7\nmax_batch_items = 50\n")
    monkeypatch.setenv("ZHIAN_INTAKE__MAX_BATCH_ITEMS", "70")

    settings = load_settings(workspace)

    assert settings.intake.max_age_days == 7
    assert settings.intake.max_batch_items == 70


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("init", "demo", "simulate", "import", "ingest", "quarantine", "serve"):
        assert command in result.output


def test_master_data_doc_names_every_column() -> None:
    from zhian.registry.schemas import ENTITY_ORDER, known_columns

    text = (DOCS / "master-data.md").read_text(encoding="utf-8")
    for entity in ENTITY_ORDER:
        assert f"`{entity}`" in text
        for column in known_columns(entity):
            assert f"`{column}`" in text, f"{entity}.{column} is undocumented"


def test_statistics_doc_carries_the_metrics_catalogue() -> None:
    text = (DOCS / "statistics.md").read_text(encoding="utf-8")
    assert markdown_table() in text, "copy zhian.metrics.catalogue.markdown_table() into it"
    for name, _what in LATER:
        assert f"**later** — `{name}`" in text

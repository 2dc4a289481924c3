"""`zhian devices`: bulk registration, tokens, GA/T 1400 passwords and the connection test,
as an integrator (or an admin) runs them on a workspace no node serves."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from tests.ingest.factories import MASTER_DATA
from zhian.audit.models import AuditEntry
from zhian.cli.main import app
from zhian.config import load_settings
from zhian.db.engine import Database, make_engine
from zhian.devices.service import DeviceService
from zhian.ingest.viid.repository import ViidRepository

PASSWORD = "a-long-test-password-1"
VIID_ID = "33010200001320000001"
COLUMNS = ["id", "kind", "name", "community_id", "latitude", "longitude", "gateway_id"]


def zhian(*args: str, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"zhian {' '.join(args)} raised: {result.output}") from (
            result.exception
        )
    return result


def flat(result: Result) -> str:
    return " ".join(result.output.split())  # Rich wraps long lines


def write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str] | None = None) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns or list(rows[0]))
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)
    return path


def device(device_id: str, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"id": device_id, "kind": "door", "name": f"Door {device_id}",
                           "community_id": "C1", "latitude": 30.27, "longitude": 120.15,
                           "gateway_id": None}  # fmt: skip
    row.update(fields)
    return row


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    assert zhian("init", "-w", str(ws)).exit_code == 0
    folder = tmp_path / "masterdata"
    folder.mkdir()
    other = {"id": "J-OTHER", "parent_id": "J-CITY", "level": "station", "name": "South"}
    tables = {**MASTER_DATA, "jurisdictions": [*MASTER_DATA["jurisdictions"], other]}
    paths = [str(write_csv(folder / f"{entity}.csv", rows)) for entity, rows in tables.items()]
    assert zhian("import", *paths, "-w", str(ws)).exit_code == 0
    env = {"ZHIAN_NEW_PASSWORD": PASSWORD}
    for username, role, jurisdiction in (
        ("fitter", "integrator", "J-STATION"),
        ("far_fitter", "integrator", "J-OTHER"),
        ("analyst", "analyst", "J-STATION"),
    ):
        result = zhian("users", "create", username, "--role", role, "--jurisdiction",
                       jurisdiction, "-w", str(ws), env=env)  # fmt: skip
        assert result.exit_code == 0, result.output
    assert (
        zhian("users", "create", "root", "--role", "admin", "-w", str(ws), env=env).exit_code == 0
    )
    return ws


@pytest.fixture
def db(workspace: Path) -> Iterator[Database]:
    database = Database(make_engine(load_settings(workspace).database_url))
    yield database
    database.dispose()


def authenticates(db: Database, token: str) -> str | None:
    with db.session() as session:
        return DeviceService(session).directory().authenticate(token)


def audited(db: Database, action: str) -> list[AuditEntry]:
    with db.session() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()
        session.expunge_all()
        return list(entries)


def test_bulk_registration_lists_refused_rows_and_writes_the_tokens(
    workspace: Path, db: Database, tmp_path: Path
) -> None:
    rows = [device("N1"), device("DOOR1"), device("N2", kind="toaster"),
            device("N3", latitude="north"), device("N4", gateway_id="G1")]  # fmt: skip
    source = write_csv(tmp_path / "new-devices.csv", rows, COLUMNS)
    tokens_out = tmp_path / "tokens.csv"
    result = zhian("devices", "register", str(source), "--user", "fitter",
                   "--tokens-out", str(tokens_out), "-w", str(workspace))  # fmt: skip
    assert result.exit_code == 1, result.output  # some rows were refused
    output = flat(result)
    assert "2 devices registered, 3 rows refused" in output
    assert "already registered" in output and "toaster" in output and "latitude" in output
    with tokens_out.open(encoding="utf-8") as handle:
        tokens = {row["device_id"]: row["token"] for row in csv.DictReader(handle)}
    assert set(tokens) == {"N1", "N4"}
    assert tokens_out.stat().st_mode & 0o077 == 0  # for the integrator alone
    assert authenticates(db, tokens["N4"]) == "N4"
    [entry] = audited(db, "device.register")
    assert sorted(entry.record_ids) == ["N1", "N4"]
    # The same file again: nothing overwritten, the tokens file is never clobbered.
    again = zhian("devices", "register", str(source), "--user", "fitter",
                  "--tokens-out", str(tokens_out), "-w", str(workspace))  # fmt: skip
    assert again.exit_code == 2 and "exists" in flat(again)


def test_bulk_registration_reads_a_workbook(workspace: Path, db: Database, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(COLUMNS)
    sheet.append(["X1", "face_camera", "相机 X1", "C1", 30.27, 120.15, None])
    path = tmp_path / "devices.xlsx"
    book.save(path)
    result = zhian("devices", "register", str(path), "--user", "root", "-w", str(workspace))
    assert result.exit_code == 0, result.output
    assert "1 devices registered, 0 rows refused" in flat(result)


def test_a_bad_header_is_refused_naming_the_column(workspace: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", [{"id": "Y1", "colour": "red"}])
    result = zhian("devices", "register", str(path), "--user", "fitter", "-w", str(workspace))
    assert result.exit_code == 2
    assert "colour" in flat(result)


def test_a_token_is_issued_once_and_rotated_on_purpose(workspace: Path, db: Database) -> None:
    first = zhian("devices", "token", "DOOR1", "--user", "fitter", "-w", str(workspace))
    assert first.exit_code == 0, first.output
    old = first.output.strip().splitlines()[-1]
    assert authenticates(db, old) == "DOOR1"
    # A second issue would cut the device off: refused unless asked for.
    again = zhian("devices", "token", "DOOR1", "--user", "fitter", "-w", str(workspace))
    assert again.exit_code == 1 and "--rotate" in flat(again)
    assert authenticates(db, old) == "DOOR1"
    # An admin may do what an integrator does on devices.
    rotated = zhian("devices", "token", "DOOR1", "--rotate", "--user", "root", "-w", str(workspace))
    assert rotated.exit_code == 0, rotated.output
    assert "previous one no longer works" in flat(rotated)
    new = rotated.output.strip().splitlines()[-1]
    assert new != old and authenticates(db, new) == "DOOR1" and authenticates(db, old) is None
    entries = audited(db, "device.token_issue")
    assert [entry.details["rotated"] for entry in entries] == [False, True]


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("analyst", "does not hold 'devices.manage'"),
        ("far_fitter", "no device 'DOOR1' in your jurisdiction"),
        ("nobody", "no active user 'nobody'"),
    ],
)
def test_who_may_not_manage_a_device_is_refused(
    workspace: Path, db: Database, user: str, expected: str
) -> None:
    result = zhian("devices", "token", "DOOR1", "--user", user, "-w", str(workspace))
    assert result.exit_code == 2
    assert expected in flat(result)
    assert audited(db, "device.token_issue") == []


def test_a_viid_password_is_set_for_a_gat1400_device_only(
    workspace: Path, db: Database, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "cams.csv", [device(VIID_ID, kind="face_camera")], COLUMNS)
    assert zhian("devices", "register", str(source), "--user", "fitter",
                 "-w", str(workspace)).exit_code == 0  # fmt: skip
    wrong = zhian("devices", "viid-password", "DOOR1", "--user", "fitter", "-w", str(workspace))
    assert wrong.exit_code == 2 and "GA/T 1400 device ID" in flat(wrong)
    short = zhian("devices", "viid-password", VIID_ID, "--user", "fitter", "-w", str(workspace),
                  env={"ZHIAN_VIID_PASSWORD": "short"})  # fmt: skip
    assert short.exit_code == 2 and "8 to 128 characters" in flat(short)
    result = zhian("devices", "viid-password", VIID_ID, "--user", "fitter", "-w", str(workspace))
    assert result.exit_code == 0, result.output
    generated = result.output.strip().splitlines()[-1]
    assert len(generated) == 24
    with db.session() as session:
        credential = ViidRepository(session).credential(VIID_ID)
        assert credential is not None and credential.username == VIID_ID
        assert generated not in credential.ha1  # only the HA1 is kept
    [entry] = audited(db, "device.viid_password_set")
    assert entry.details["generated"] is True


def test_the_connection_test_says_what_is_missing(workspace: Path) -> None:
    result = zhian("devices", "test", "CAM1", "-w", str(workspace))
    assert result.exit_code == 1, result.output
    output = flat(result)
    assert "no node running" in result.stderr
    assert "intake token: not set" in output and "last seen: never" in output
    assert "Cannot send: no credentials" in output
    assert (
        zhian("devices", "token", "CAM1", "--user", "fitter", "-w", str(workspace)).exit_code == 0
    )
    result = zhian("devices", "test", "CAM1", "--user", "fitter", "-w", str(workspace))
    assert result.exit_code == 0, result.output
    assert "intake token: set, issued" in flat(result)
    assert "Ready: the device holds credentials and has not sent anything yet" in flat(result)
    disabled = zhian("devices", "test", "OFF1", "-w", str(workspace))
    assert disabled.exit_code == 1 and "the device is disabled" in flat(disabled)
    unknown = zhian("devices", "test", "NOPE", "-w", str(workspace))
    assert unknown.exit_code == 2 and "unknown device 'NOPE'" in flat(unknown)
    hidden = zhian("devices", "test", "CAM1", "--user", "far_fitter", "-w", str(workspace))
    assert hidden.exit_code == 2 and "no device 'CAM1' in your jurisdiction" in flat(hidden)


def test_the_device_list_shows_the_users_jurisdiction_with_filters(workspace: Path) -> None:
    listed = zhian("devices", "list", "--user", "fitter", "-w", str(workspace))
    assert listed.exit_code == 0, listed.output
    output = flat(listed)
    assert "DOOR1" in output and "OFF1" in output
    assert "5 of 5 devices in fitter's jurisdiction" in output
    disabled = zhian("devices", "list", "--state", "disabled", "--user", "fitter",
                     "-w", str(workspace))  # fmt: skip
    assert "OFF1" in flat(disabled) and "DOOR1" not in flat(disabled)
    assert "1 of 5 devices" in flat(disabled)
    doors = zhian("devices", "list", "--kind", "door", "--user", "root", "-w", str(workspace))
    assert "DOOR1" in flat(doors) and "CAM1" not in flat(doors)
    # Another station's integrator sees none of them; an analyst may not list devices.
    far = zhian("devices", "list", "--user", "far_fitter", "-w", str(workspace))
    assert far.exit_code == 0 and "0 of 0 devices" in flat(far) and "DOOR1" not in flat(far)
    refused = zhian("devices", "list", "--user", "analyst", "-w", str(workspace))
    assert refused.exit_code == 2 and "does not hold 'devices.view'" in flat(refused)


def test_a_disabled_device_is_refused_at_intake_until_enabled(
    workspace: Path, db: Database, tmp_path: Path
) -> None:
    event = {"id": "e-disabled-1", "type": "heartbeat", "device_id": "DOOR1",
             "time": "2026-11-20T09:00:00+08:00", "status": "ok"}  # fmt: skip
    events = tmp_path / "events.ndjson"
    events.write_text(json.dumps(event) + "\n", encoding="utf-8")

    result = zhian("devices", "disable", "DOOR1", "--user", "fitter", "-w", str(workspace))
    assert result.exit_code == 0, result.output
    assert "DOOR1 disabled" in flat(result)
    [entry] = audited(db, "device.disable")
    assert entry.record_ids == ["DOOR1"]
    ingested = zhian("ingest", str(events), "-w", str(workspace))
    assert "1 events refused" in flat(ingested)
    checked = zhian("devices", "test", "DOOR1", "-w", str(workspace))
    assert "device 'DOOR1' is disabled" in flat(checked)  # the refusal, in its own words
    # Again: nothing to change, nothing audited twice.
    again = zhian("devices", "disable", "DOOR1", "--user", "fitter", "-w", str(workspace))
    assert again.exit_code == 0 and "already disabled" in flat(again)
    assert len(audited(db, "device.disable")) == 1

    enabled = zhian("devices", "enable", "DOOR1", "--user", "root", "-w", str(workspace))
    assert enabled.exit_code == 0, enabled.output
    assert len(audited(db, "device.enable")) == 1
    event["id"] = "e-enabled-1"
    events.write_text(json.dumps(event) + "\n", encoding="utf-8")
    accepted = zhian("ingest", str(events), "-w", str(workspace))
    assert accepted.exit_code == 0, accepted.output
    assert "refused" not in flat(accepted)
    hidden = zhian("devices", "disable", "DOOR1", "--user", "far_fitter", "-w", str(workspace))
    assert hidden.exit_code == 2 and "no device 'DOOR1' in your jurisdiction" in flat(hidden)

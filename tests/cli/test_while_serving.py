"""Every `zhian` command, run while `zhian serve` runs on the same workspace (issue #11).

One real `zhian serve` subprocess holds the log and the event store for the whole module;
the commands run in this process, in the order a person would use them. Commands that need
the log or the store say that they send their work to the node; the rest share the
database. A command added to the app without a case here fails `test_every_command_has_a_case`.
"""

from __future__ import annotations

import csv
import json
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from tests.cli.commands import app_commands
from tests.ingest.factories import MASTER_DATA, access_event
from tests.ingest.test_durability import free_port, start_server
from zhian.cli.main import app
from zhian.kit.clock import SystemClock
from zhian.kit.running import find_running_node
from zhian.sim.scenarios_cases import MAPPING_TOML, simulate_cases
from zhian.sim.timeline import TZ

pytestmark = pytest.mark.slow

SENDING = "sending to it"
PASSWORD = "a-long-test-password-1"
SECRET_KEY = secrets.token_urlsafe(32)
VIID_ID = "33010200001320000007"


@dataclass
class Serving:
    """The workspace a node serves, and what earlier cases left for later ones."""

    workspace: Path
    files: Path
    url: str
    token: str = ""
    notes: dict[str, Any] = field(default_factory=dict)

    def api(self, path: str, **params: Any) -> Any:
        response = httpx.get(
            f"{self.url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.json()


def zhian(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run a command in this process; fail on any traceback (the bug this module guards)."""
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"zhian {' '.join(args)} raised: {result.output}") from (
            result.exception
        )
    assert "Traceback" not in result.output
    return result


def ok(*args: str, env: dict[str, str] | None = None) -> str:
    result = zhian(*args, env=env)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())  # Rich wraps long lines


def refused(*args: str, env: dict[str, str] | None = None) -> str:
    """A command that must be refused, with one line, while the node runs."""
    result = zhian(*args, env=env)
    assert result.exit_code == 2, result.output
    return " ".join(result.output.split())


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)
    return path


@pytest.fixture(scope="module")
def serving(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serving]:
    root = tmp_path_factory.mktemp("serving")
    workspace, files = root / "ws", root / "files"
    files.mkdir()
    ok("init", "-w", str(workspace))
    port = free_port()
    server = start_server(workspace, port)
    try:
        yield Serving(workspace, files, f"http://127.0.0.1:{port}")
    finally:
        server.terminate()
        server.wait(timeout=30)
    # Nothing the commands sent made the node fail either.
    assert "Traceback" not in (workspace / "server.log").read_text(errors="replace")


def ws(serving: Serving) -> tuple[str, str]:
    return ("-w", str(serving.workspace))


# --- the cases, in the order they run --------------------------------------------------------


def case_init(s: Serving) -> None:
    assert "Workspace ready" in ok("init", *ws(s))


def case_migrate(s: Serving) -> None:
    assert "up to date" in ok("migrate", *ws(s))


def case_users_create(s: Serving) -> None:
    env = {"ZHIAN_NEW_PASSWORD": PASSWORD}
    ok("users", "create", "admin", "--role", "admin", *ws(s), env=env)
    ok("users", "create", "officer", "--role", "station_officer", "--jurisdiction", "J-STATION",
       *ws(s), env=env)  # fmt: skip
    ok("users", "create", "leaver", "--role", "analyst", "--jurisdiction", "J-CITY", *ws(s),
       env=env)  # fmt: skip


def case_users_list(s: Serving) -> None:
    output = ok("users", "list", *ws(s))
    assert "admin" in output and "leaver" in output


def case_users_password(s: Serving) -> None:
    env = {"ZHIAN_NEW_PASSWORD": PASSWORD + " anew"}
    assert "sessions ended" in ok("users", "password", "leaver", *ws(s), env=env)


def case_users_disable(s: Serving) -> None:
    assert "Disabled user leaver" in ok("users", "disable", "leaver", *ws(s))


def case_tokens_issue(s: Serving) -> None:
    result = zhian("tokens", "issue", "admin", "--name", "cli", *ws(s))
    assert result.exit_code == 0, result.output
    s.token = result.output.strip().splitlines()[-1]
    # The running node knows the token at once, and the devices imported while it served.
    listed = {device["id"] for device in s.api("/api/v1/status")["devices"]}
    assert {"DOOR1", "CAM1"} <= listed


def case_tokens_list(s: Serving) -> None:
    assert "cli" in ok("tokens", "list", *ws(s))


def case_tokens_revoke(s: Serving) -> None:
    result = zhian("tokens", "issue", "admin", "--name", "temp", *ws(s))
    assert result.exit_code == 0, result.output
    listed = zhian("tokens", "list", *ws(s)).output
    token_id = next(line.split()[1] for line in listed.splitlines() if "temp" in line)
    assert "Revoked API token" in ok("tokens", "revoke", token_id, *ws(s))


def case_import(s: Serving) -> None:
    folder = s.files / "masterdata"
    folder.mkdir()
    tables = {**MASTER_DATA, "houses": [{"id": "C1-B1-U1-101", "unit_id": "C1-B1-U1",
              "number": "101", "area_m2": 88.5, "registered_use": "owner_occupied"}]}  # fmt: skip
    # DOOR9 comes later (case_quarantine_replay): its events wait in the quarantine.
    paths = [str(write_csv(folder / f"{entity}.csv", rows)) for entity, rows in tables.items()]
    assert "Master data import" in ok("import", *paths, *ws(s))


def case_import_utilities(s: Serving) -> None:
    readings = s.files / "readings.csv"
    readings.write_text("house_id,day,water_m3,electricity_kwh\nC1-B1-U1-101,2026-11-02,0.2,3.5\n")
    assert "Utility readings import" in ok("import-utilities", str(readings), *ws(s))


def case_ingest(s: Serving) -> None:
    now = SystemClock().now()
    events = s.files / "events.ndjson"
    lines = [access_event("cli-1", now), access_event("cli-2", now),
             access_event("cli-3", now, device_id="DOOR9")]  # fmt: skip
    events.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    result = zhian("ingest", str(events), *ws(s))
    assert result.exit_code == 0, result.output
    assert SENDING in result.stderr
    assert "1 events refused" in result.output
    # The node fed them to its event store; its own API shows them.
    recent = {(e["device_id"], e["event_id"]) for e in s.api("/api/v1/status")["recent"]}
    assert {("DOOR1", "cli-1"), ("DOOR1", "cli-2")} <= recent


def case_quarantine_list(s: Serving) -> None:
    output = ok("quarantine", "list", *ws(s))
    assert "DOOR9" in output and "cli-3" in output
    # The raw input is sealed at rest; printed, its subject reference is masked.
    raw = ok("quarantine", "list", "--raw", *ws(s))
    assert '"R**01"' in raw and "R0001" not in raw
    # The command that used to crash while serving, as a person runs it: its own process.
    done = subprocess.run(
        [sys.executable, "-m", "zhian", "quarantine", "list", "-w", str(s.workspace)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "cli-3" in done.stdout


def case_quarantine_replay(s: Serving) -> None:
    door9 = {**MASTER_DATA["devices"][1], "id": "DOOR9", "name": "Unit 9 door"}
    ok("import", str(write_csv(s.files / "devices.csv", [door9])), *ws(s))
    result = zhian("quarantine", "replay", *ws(s))
    assert result.exit_code == 0, result.output
    assert SENDING in result.stderr
    assert "1 accepted" in result.output
    recent = {(e["device_id"], e["event_id"]) for e in s.api("/api/v1/status")["recent"]}
    assert ("DOOR9", "cli-3") in recent


def post_event(s: Serving, token: str, event_id: str, device_id: str) -> httpx.Response:
    event = access_event(event_id, SystemClock().now(), device_id=device_id)
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.post(f"{s.url}/api/v1/events", json=event, headers=headers, timeout=30)


def case_devices_register(s: Serving) -> None:
    template = {**MASTER_DATA["devices"][1], "gateway_id": None}
    rows = [{**template, "id": "DOOR7", "name": "Unit 7 door"},
            {**template, "id": VIID_ID, "kind": "face_camera", "name": "Gate camera"}]  # fmt: skip
    tokens = s.files / "device-tokens.csv"
    result = zhian("devices", "register", str(write_csv(s.files / "new-devices.csv", rows)),
                   "--user", "admin", "--tokens-out", str(tokens), *ws(s))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 devices registered" in " ".join(result.output.split())
    assert "it reloaded its devices" in result.stderr
    with tokens.open(encoding="utf-8") as handle:
        s.notes["door7_token"] = {r["device_id"]: r["token"] for r in csv.DictReader(handle)}[
            "DOOR7"
        ]
    # The node takes the new device's events at once.
    response = post_event(s, s.notes["door7_token"], "dev-1", "DOOR7")
    assert response.status_code == 200 and response.json()["accepted"] == 1, response.text


def case_devices_token(s: Serving) -> None:
    result = zhian("devices", "token", "DOOR7", "--rotate", "--user", "admin", *ws(s))
    assert result.exit_code == 0, result.output
    assert "it reloaded its devices" in result.stderr
    new = result.output.strip().splitlines()[-1]
    # The rotated token stops working at once on the running node, not at its next reload.
    assert post_event(s, s.notes["door7_token"], "dev-2", "DOOR7").status_code == 401
    assert post_event(s, new, "dev-3", "DOOR7").json()["accepted"] == 1
    s.notes["door7_token"] = new


def case_devices_list(s: Serving) -> None:
    output = ok("devices", "list", "--kind", "door", "--user", "admin", *ws(s))
    assert "DOOR7" in output and "CAM1" not in output


def case_devices_disable(s: Serving) -> None:
    result = zhian("devices", "disable", "DOOR7", "--user", "admin", *ws(s))
    assert result.exit_code == 0, result.output
    assert "it reloaded its devices" in result.stderr
    # The running node refuses the disabled device at once, saying why.
    refused = post_event(s, s.notes["door7_token"], "dev-off-1", "DOOR7")
    assert "disabled" in refused.text and refused.json().get("accepted", 0) == 0, refused.text


def case_devices_enable(s: Serving) -> None:
    result = zhian("devices", "enable", "DOOR7", "--user", "admin", *ws(s))
    assert result.exit_code == 0, result.output
    assert "it reloaded its devices" in result.stderr
    response = post_event(s, s.notes["door7_token"], "dev-on-1", "DOOR7")
    assert response.json()["accepted"] == 1, response.text


def case_devices_viid_password(s: Serving) -> None:
    env = {"ZHIAN_VIID_PASSWORD": PASSWORD}
    output = ok("devices", "viid-password", VIID_ID, "--user", "admin", *ws(s), env=env)
    assert f"GA/T 1400 password set for {VIID_ID}" in output


def case_devices_test(s: Serving) -> None:
    result = zhian("devices", "test", "DOOR7", *ws(s))
    assert result.exit_code == 0, result.output
    assert SENDING in result.stderr
    output = " ".join(result.output.split())
    assert "protocols (24 h): native" in output and "last seen: never" not in output
    viid = zhian("devices", "test", VIID_ID, "--user", "admin", *ws(s))
    assert viid.exit_code == 0 and f"password: set for user {VIID_ID}" in " ".join(
        viid.output.split()
    )


def case_watchlist_import(s: Serving) -> None:
    far = (SystemClock().now() + timedelta(days=30)).isoformat()
    bulk = s.files / "watchlist.csv"
    bulk.write_text(
        "target,label,plate,legal_basis_kind,legal_basis_ref,jurisdiction_id,expires_at\n"
        f"plate,car,浙A11111,stolen_vehicle,BD-1,J-STATION,{far}\n",
        encoding="utf-8",
    )
    assert "1 rows imported" in ok("watchlist", "import", str(bulk), "--user", "officer", *ws(s))


def case_watchlist_list(s: Serving) -> None:
    output = ok("watchlist", "list", *ws(s))
    # The plate is held sealed and listed masked (#12).
    assert "浙A***11" in output and "浙A11111" not in output and "1 entries." in output
    s.notes["watchlist_id"] = output.split("浙A***11")[0].split()[-2]


def case_watchlist_withdraw(s: Serving) -> None:
    withdrawals = s.files / "withdraw.csv"
    withdrawals.write_text("plate,legal_basis_ref,reason\n浙A11111,BD-1,found\n", encoding="utf-8")
    output = ok("watchlist", "withdraw", str(withdrawals), "--user", "officer", *ws(s))
    assert "1 rows withdrawn" in output


def _case_files(s: Serving) -> tuple[Path, Path]:
    """The simulator's case export (placed in J-STATION) and its mapping, written once."""
    cases, mapping = s.files / "cases.csv", s.files / "cases-mapping.toml"
    if not cases.exists():
        planted = simulate_cases(seed=5, start=datetime(2026, 1, 1, tzinfo=TZ), days=150,
                                 series=12, background_per_day=1.5)  # fmt: skip
        planted.write_csv(cases)
        mapping.write_text(MAPPING_TOML, encoding="utf-8")
    return cases, mapping


def case_cases_import(s: Serving) -> None:
    cases, mapping = _case_files(s)
    output = ok("cases", "import", str(cases), "--mapping", str(mapping), "--user", "officer",
                *ws(s))  # fmt: skip
    assert "0 updated, 0 refused" in output


def case_incidents_import(s: Serving) -> None:
    calls = s.files / "calls.csv"
    called_at = datetime.now(TZ).strftime("%Y-%m-%d %H:%M")
    calls.write_text(f"id,time,category,summary,building_id\nJJ-1,{called_at},fire,着火,C1-B1\n",
                     encoding="utf-8")  # fmt: skip
    output = ok("incidents", "import", str(calls), "--user", "officer", *ws(s))
    assert "1 alerts raised, 0 already imported, 0 refused" in output
    again = ok("incidents", "import", str(calls), "--user", "officer", *ws(s))
    assert "0 alerts raised, 1 already imported" in again


def case_cases_train(s: Serving) -> None:
    env = {"ZHIAN_NEW_PASSWORD": PASSWORD}
    ok("users", "create", "analyst", "--role", "analyst", "--jurisdiction", "J-STATION",
       *ws(s), env=env)  # fmt: skip
    assert "Linkage model versions" in ok("cases", "train", "--user", "analyst", *ws(s))
    ok("cases", "train", "--user", "analyst", *ws(s))


def case_cases_models(s: Serving) -> None:
    assert "2 versions." in ok("cases", "models", *ws(s))


def case_cases_rollback(s: Serving) -> None:
    assert "version 1 is active" in ok("cases", "rollback", "1", "--user", "analyst", *ws(s))


def case_eval_linkage(s: Serving) -> None:
    cases, mapping = _case_files(s)
    output = ok("eval", "linkage", str(cases), "--mapping", str(mapping))
    assert "distance + time logistic" in output and "time alone" in output


def case_eval_hotspots(s: Serving) -> None:
    cases, mapping = _case_files(s)
    output = ok("eval", "hotspots", str(cases), "--mapping", str(mapping), "--train-until",
                "2026-04-01", "--test-from", "2026-04-01", "--test-to", "2026-05-29")  # fmt: skip
    assert "Hotspots" in output and "PAI" in output and "hit rate" in output


def case_webhooks_add(s: Serving) -> None:
    env = {"HOOK_SECRET": "a-webhook-secret-of-some-length"}
    output = ok("webhooks", "add", "http://127.0.0.1:9/hook", "--secret-env", "HOOK_SECRET",
                "--events", "alert.*", *ws(s), env=env)  # fmt: skip
    s.notes["subscription"] = output.split()[1].rstrip(":")


def case_webhooks_list(s: Serving) -> None:
    assert "1 subscriptions." in ok("webhooks", "list", *ws(s))


def case_webhooks_remove(s: Serving) -> None:
    assert "removed" in ok("webhooks", "remove", s.notes["subscription"], *ws(s))


def case_ferry_export(s: Serving) -> None:
    now = SystemClock().now()
    out = s.files / "ferry-out"
    result = zhian("ferry", "export", "--since", (now - timedelta(hours=1)).isoformat(),
                   "--until", (now + timedelta(hours=1)).isoformat(), "--out", str(out),
                   *ws(s))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert SENDING in result.stderr
    packages = [p for p in out.iterdir() if (p / "manifest.json").is_file()]
    assert packages, result.output
    s.notes["packages"] = packages


def case_ferry_import(s: Serving) -> None:
    packages: list[Path] = s.notes["packages"]
    result = zhian("ferry", "import", *map(str, packages), *ws(s))
    assert result.exit_code == 0, result.output
    assert SENDING in result.stderr
    # The node exported them itself: each package comes back as already held.
    assert "imported" in result.output
    # A refused package is refused by the node and reported as such, in its row.
    bogus = s.files / "bogus-package"
    bogus.mkdir()
    (bogus / "manifest.json").write_text("{not json", encoding="utf-8")
    result = zhian("ferry", "import", str(bogus), *ws(s))
    assert result.exit_code == 1 and "rejected" in result.output, result.output


def case_ferry_watch(s: Serving) -> None:
    drop = s.files / "drop"
    drop.mkdir()
    for package in s.notes["packages"]:
        shutil.copytree(package, drop / package.name)
    result = zhian("ferry", "watch", str(drop), "--once", *ws(s))
    assert result.exit_code == 0, result.output
    assert SENDING in result.stderr
    assert (drop / "done").is_dir()


def case_retention_apply(s: Serving) -> None:
    result = zhian("retention", "apply", "--dry-run", *ws(s))
    assert result.exit_code == 0, result.output
    assert SENDING in result.stderr and "would remove" in result.output
    result = zhian("retention", "apply", *ws(s))
    assert result.exit_code == 0, result.output
    assert SENDING in result.stderr and "Retention" in result.output


def case_quality_report(s: Serving) -> None:
    result = zhian("quality", "report", *ws(s))
    assert result.exit_code == 0, result.output
    assert SENDING in result.stderr
    assert "DOOR1" in result.output


def case_models_run(s: Serving) -> None:
    # The node runs them as its periodic run does; the table comes back.
    result = zhian("models", "run", "--model", "moved_out", *ws(s))
    assert result.exit_code == 0, result.output
    assert SENDING in result.stderr
    assert "model.moved_out" in result.output and "alert(s) raised or updated" in result.output
    result = zhian("models", "run", "--model", "no_such_model", *ws(s))
    assert result.exit_code == 2 and "unknown model" in result.output


def case_log_readers(s: Serving) -> None:
    # The running node's feeder and rule engine have registered their positions.
    output = ok("log", "readers", *ws(s))
    assert "store" in output and "rules" in output and "Retention may prune" in output


def case_log_drop_reader(s: Serving) -> None:
    # An unknown reader is refused; a real one is not dropped here (the node still reads).
    result = zhian("log", "drop-reader", "no-such-reader", *ws(s))
    assert result.exit_code == 1 and "No log reader named" in result.stderr


def case_log_damage(s: Serving) -> None:
    # The serving node's log is whole: nothing recorded, read beside the lock it holds.
    assert "recorded no loss" in ok("log", "damage", *ws(s))


def case_log_acknowledge_damage(s: Serving) -> None:
    # Nothing lost, nothing to acknowledge; the book is written beside the running node.
    assert "No loss waits" in ok("log", "acknowledge-damage", "--note", "checked", *ws(s))


def case_cascade_status(s: Serving) -> None:
    # The served workspace has no parent: said in one line, beside the running node.
    assert "has no parent" in ok("cascade", "status", *ws(s))


def case_audit_verify(s: Serving) -> None:
    assert "Audit chain intact" in ok("audit", "verify", *ws(s))


def case_keys_init(s: Serving) -> None:
    # The node made its key ring at start: a second one is refused, in one line.
    assert "exists" in refused("keys", "init", *ws(s))


def case_keys_status(s: Serving) -> None:
    output = ok("keys", "status", *ws(s))
    assert "Key ring" in output and "in use by a running node" in output


def case_keys_rotate(s: Serving) -> None:
    output = ok("keys", "rotate", *ws(s))
    assert "Active key is now" in output and "The old keys are kept" in output
    assert "restart it so that it reads the new key" in output


def case_docs_config(s: Serving) -> None:
    out = s.files / "configuration.md"
    ok("docs", "config", "--out", str(out))
    assert "[web]" in out.read_text(encoding="utf-8") or out.stat().st_size > 1000


def case_docs_permissions(s: Serving) -> None:
    out = s.files / "permissions.md"
    ok("docs", "permissions", "--out", str(out))
    assert out.stat().st_size > 500


def case_simulate(s: Serving) -> None:
    out = s.files / "sim"
    ok("simulate", str(out), "--days", "0.05", "--scale", "0.05")
    assert (out / "events.ndjson").is_file() and (out / "devices.csv").is_file()


def case_eval(s: Serving) -> None:
    # Small enough to be quick; the bar itself is the business of tests/models.
    result = zhian("eval", "--seeds", "1", "--days", "1", "--scale", "0.05", "--step-hours", "24",
                   "--no-crowd")  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    assert "precision" in result.output
    assert "hard simulator" in " ".join(result.output.split())  # the default (#20)


def case_eval_crowd(s: Serving) -> None:
    counts = s.files / "counts.csv"
    start = datetime(2025, 3, 3)
    rows = [
        {"sensor": "gate", "time": (start + timedelta(hours=i)).isoformat(), "count": 50 + i % 24}
        for i in range(5 * 7 * 24)
    ]
    write_csv(counts, rows)
    out = ok("eval", "crowd", str(counts), "--horizon", "60")
    assert "4-week mean" in out and "persistence" in out


def case_demo(s: Serving) -> None:
    # Never over a serving workspace (--fresh would delete it) ...
    assert "A node is running" in refused("demo", "--no-serve", *ws(s))
    assert find_running_node(s.workspace) is not None
    # ... beside it, on a workspace of its own.
    other = s.files / "demo-ws"
    ok("demo", "--no-serve", "--days", "0.05", "--scale", "0.05", "-w", str(other))


def case_registry_export(s: Serving) -> None:
    out = s.files / "upward"
    out.mkdir()
    output = ok("registry", "export", "C1", "--kind", "houses", "--user", "officer", "-o",
                str(out), *ws(s))  # fmt: skip
    [written] = out.glob("registry-C1-houses-*.csv")
    assert "1 rows (houses)" in output
    rows = list(csv.reader(written.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0][:2] == ["house_id", "building_id"] and rows[1][0] == "C1-B1-U1-101"
    bad = zhian("registry", "export", "C1", "--kind", "people", "--user", "officer", *ws(s))
    assert bad.exit_code == 2 and "kind" in bad.output


def case_serve(s: Serving) -> None:
    # A second node on the same workspace is refused before it opens anything.
    env = {"ZHIAN_WEB__SECRET_KEY": SECRET_KEY}
    output = refused("serve", *ws(s), "--port", str(free_port()), env=env)
    assert "already running" in output


def case_worker(s: Serving) -> None:
    # The node serves everything, event store included: a worker beside it is refused.
    assert "held by another process" in refused("worker", *ws(s))


CASES: dict[tuple[str, ...], Callable[[Serving], None]] = {
    ("init",): case_init,
    ("migrate",): case_migrate,
    ("import",): case_import,
    ("import-utilities",): case_import_utilities,
    ("users", "create"): case_users_create,
    ("users", "list"): case_users_list,
    ("users", "password"): case_users_password,
    ("users", "disable"): case_users_disable,
    ("tokens", "issue"): case_tokens_issue,
    ("tokens", "list"): case_tokens_list,
    ("tokens", "revoke"): case_tokens_revoke,
    ("ingest",): case_ingest,
    ("quarantine", "list"): case_quarantine_list,
    ("quarantine", "replay"): case_quarantine_replay,
    ("devices", "register"): case_devices_register,
    ("devices", "token"): case_devices_token,
    ("devices", "list"): case_devices_list,
    ("devices", "disable"): case_devices_disable,
    ("devices", "enable"): case_devices_enable,
    ("devices", "viid-password"): case_devices_viid_password,
    ("devices", "test"): case_devices_test,
    ("watchlist", "import"): case_watchlist_import,
    ("watchlist", "list"): case_watchlist_list,
    ("watchlist", "withdraw"): case_watchlist_withdraw,
    ("cases", "import"): case_cases_import,
    ("cases", "train"): case_cases_train,
    ("incidents", "import"): case_incidents_import,
    ("cases", "models"): case_cases_models,
    ("cases", "rollback"): case_cases_rollback,
    ("webhooks", "add"): case_webhooks_add,
    ("webhooks", "list"): case_webhooks_list,
    ("webhooks", "remove"): case_webhooks_remove,
    ("registry", "export"): case_registry_export,
    ("ferry", "export"): case_ferry_export,
    ("ferry", "import"): case_ferry_import,
    ("ferry", "watch"): case_ferry_watch,
    ("retention", "apply"): case_retention_apply,
    ("quality", "report"): case_quality_report,
    ("models", "run"): case_models_run,
    ("log", "readers"): case_log_readers,
    ("log", "drop-reader"): case_log_drop_reader,
    ("log", "damage"): case_log_damage,
    ("log", "acknowledge-damage"): case_log_acknowledge_damage,
    ("cascade", "status"): case_cascade_status,
    ("audit", "verify"): case_audit_verify,
    ("keys", "init"): case_keys_init,
    ("keys", "status"): case_keys_status,
    ("keys", "rotate"): case_keys_rotate,
    ("docs", "config"): case_docs_config,
    ("docs", "permissions"): case_docs_permissions,
    ("simulate",): case_simulate,
    ("eval",): case_eval,
    ("eval", "crowd"): case_eval_crowd,
    ("eval", "linkage"): case_eval_linkage,
    ("eval", "hotspots"): case_eval_hotspots,
    ("demo",): case_demo,
    ("serve",): case_serve,
    ("worker",): case_worker,
}


def test_every_command_has_a_case() -> None:
    commands = app_commands()
    assert sorted(commands - set(CASES)) == [], "add a case for each new command"
    assert sorted(set(CASES) - commands) == [], "a case for a command the app no longer has"


@pytest.mark.parametrize("path", list(CASES), ids=" ".join)
def test_command_while_serving(serving: Serving, path: tuple[str, ...]) -> None:
    CASES[path](serving)
    assert find_running_node(serving.workspace) is not None, "the node stopped"


def test_the_control_api_wants_the_marker_token(serving: Serving) -> None:
    marker = find_running_node(serving.workspace)
    assert marker is not None and marker.url == serving.url
    for header in ({}, {"Authorization": "Bearer not-the-token"}):
        # Refused: by the token check, or before it by the guard against cross-site posts.
        response = httpx.post(f"{serving.url}/api/v1/node/retention/apply", headers=header)
        assert response.status_code in (401, 403), response.text
        response = httpx.get(f"{serving.url}/api/v1/node/quality", headers=header)
        assert response.status_code == 401, response.text


def test_the_control_api_refuses_a_body_nested_too_deep(serving: Serving) -> None:
    marker = find_running_node(serving.workspace)
    assert marker is not None
    deep = b"[" * 100_000 + b"]" * 100_000
    response = httpx.post(
        f"{serving.url}/api/v1/node/quarantine/replay",
        content=deep,
        headers={"Authorization": f"Bearer {marker.token}"},
    )
    assert response.status_code == 400, response.text
    assert "deeper than" in response.text
    assert find_running_node(serving.workspace) is not None, "the node stopped"

"""`zhian watchlist import|withdraw|list`: bulk files as a named user, within their
jurisdiction, with the per-row report and audit entries."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tests.alerts.factories import Users
from tests.kit.workbooks import dtd_workbook, inflating_workbook
from zhian.audit.service import AuditEntryRead
from zhian.cli.main import app
from zhian.node import Node

runner = CliRunner()
FAR = "2099-12-31T23:59:59+08:00"


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())  # Rich wraps long lines


def audit(node: Node, action: str) -> list[AuditEntryRead]:
    with node.db.session() as session:
        return node.governance.audit(session).search(action=action)


def test_import_list_and_withdraw_as_an_officer_of_one_station(
    node: Node, users: Users, tmp_path: Path
) -> None:
    workspace = str(node.settings.workspace)
    bulk = tmp_path / "布控.csv"
    bulk.write_text(
        "target,label,plate,legal_basis_kind,legal_basis_ref,jurisdiction_id,expires_at\n"
        f"plate,车一,浙A11111,stolen_vehicle,BD-1,J-STN,{FAR}\n"
        f"plate,车二,浙A22222,stolen_vehicle,BD-2,J-DIST,{FAR}\n"
        f"plate,车三,浙A33333,stolen_vehicle,,J-STN,{FAR}\n",
        encoding="utf-8",
    )
    code, output = invoke("watchlist", "import", str(bulk), "--user", "officer1", "-w", workspace)
    assert code == 1, output  # some rows were refused
    assert "1 rows imported, 2 refused" in output
    assert "jurisdiction_id" in output and "legal_basis_ref" in output
    with node.watchlists() as watchlists:
        [entry] = watchlists.list_entries()
    assert entry.plate == "浙A***11" and entry.owner_user_id == users.officer
    [imported] = audit(node, "watchlist.import")
    assert imported.actor_id == str(users.officer) and imported.record_ids == [str(entry.id)]

    code, output = invoke("watchlist", "list", "--user", "officer1", "-w", workspace)
    assert code == 0 and "浙A***11" in output and "1 entries." in output
    assert "浙A11111" not in output  # listed masked: the entry holds no plate in clear
    assert audit(node, "watchlist.list")

    withdrawals = tmp_path / "撤控.csv"
    withdrawals.write_text(f"id,reason\n{entry.id},车辆已找回\n", encoding="utf-8")
    code, output = invoke(
        "watchlist", "withdraw", str(withdrawals), "--user", "officer1", "-w", workspace
    )
    assert code == 0, output
    assert "1 rows withdrawn, 0 refused" in output
    with node.watchlists() as watchlists:
        assert watchlists.list_entries() == []
    assert audit(node, "watchlist.bulk_withdraw")[0].record_ids == [str(entry.id)]


def test_a_user_without_the_permission_or_an_unreadable_file_is_refused(
    node: Node, users: Users, tmp_path: Path
) -> None:
    workspace = str(node.settings.workspace)
    bulk = tmp_path / "x.csv"
    bulk.write_text("plate,reason\n浙A11111,x\n", encoding="utf-8")
    code, output = invoke("watchlist", "withdraw", str(bulk), "--user", "grid1", "-w", workspace)
    assert code == 2 and "watchlists.manage" in output
    code, output = invoke("watchlist", "withdraw", str(bulk), "--user", "nobody", "-w", workspace)
    assert code == 2 and "nobody" in output
    wrong = tmp_path / "x.txt"
    wrong.write_text("plate\n", encoding="utf-8")
    code, output = invoke("watchlist", "import", str(wrong), "--user", "officer1", "-w", workspace)
    assert code == 2 and ".csv or .xlsx" in output
    assert audit(node, "watchlist.import") == []
    utf16 = tmp_path / "utf16.csv"
    utf16.write_text("plate,reason\n浙A11111,找回\n", encoding="utf-16")
    code, output = invoke(
        "watchlist", "withdraw", str(utf16), "--user", "officer1", "-w", workspace
    )
    assert code == 2, output
    assert "encoding:" in output and "neither UTF-8 nor GB18030/GBK" in output
    assert "Traceback" not in output
    assert audit(node, "watchlist.bulk_withdraw") == []


def test_a_workbook_bomb_or_dtd_is_refused_in_one_line(
    node: Node, users: Users, tmp_path: Path
) -> None:
    workspace = str(node.settings.workspace)
    bomb = inflating_workbook(tmp_path / "bomb.xlsx", inflated_mib=300)
    code, output = invoke("watchlist", "import", str(bomb), "--user", "officer1", "-w", workspace)
    assert code == 2, output
    assert "the workbook inflates to 300 MiB, over the limit of 64 MiB" in output
    dtd = dtd_workbook(tmp_path / "dtd.xlsx")
    code, output = invoke("watchlist", "withdraw", str(dtd), "--user", "officer1", "-w", workspace)
    assert code == 2 and "declares a DTD or entities" in output
    assert "Traceback" not in output
    assert audit(node, "watchlist.import") == []

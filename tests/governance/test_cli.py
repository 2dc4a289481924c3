"""The commands: keys init/status/rotate, import with identity cells, audit verify, retention."""

from __future__ import annotations

import csv
import io
import stat
from pathlib import Path

from PIL import Image
from sqlalchemy import text
from typer.testing import CliRunner

from zhian.cli.main import app
from zhian.config import load_settings
from zhian.db.engine import make_engine
from zhian.governance.crypto import FieldCipher, key_id_of
from zhian.governance.keys import load_keyring
from zhian.ingest.images import ImageStore

from .factories import PLACES, ZHANG_ID

runner = CliRunner()


def write_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_keys_import_rotate_and_audit_verify(tmp_path: Path) -> None:
    workspace = str(tmp_path / "node")
    code, output = invoke("keys", "init", "-w", workspace)
    assert code == 0, output
    key_file = tmp_path / "node" / "keys" / "zhian-keys.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert invoke("keys", "init", "-w", workspace)[0] == 2  # never overwrites a ring

    files = [write_csv(tmp_path / f"{entity}.csv", rows) for entity, rows in PLACES.items()]
    files.append(
        write_csv(
            tmp_path / "residents.csv",
            [
                {
                    "id": "R1",
                    "house_id": "H1",
                    "birth_year": 1985,
                    "name": "张三",
                    "id_number": ZHANG_ID,
                    "phone": "13812345678",
                },
                {
                    "id": "R2",
                    "house_id": "H1",
                    "birth_year": 1990,
                    "name": "李四",
                    "id_number": "",
                    "phone": "1381234",
                },
            ],
        )
    )
    code, output = invoke("import", *map(str, files), "-w", workspace)
    assert code == 1, output  # R2's phone is rejected
    assert "must have 11 digits, got 7" in output

    code, output = invoke("keys", "rotate", "-w", workspace)
    assert code == 0, output
    assert "Active key is now k2; 3 values re-encrypted." in output
    assert "Retired keys: k1" in output
    code, output = invoke("keys", "status", "-w", workspace)
    assert code == 0 and "k2" in output and "k1" not in output

    code, output = invoke("audit", "verify", "-w", workspace)
    assert code == 0, output
    assert "Audit chain intact" in output and "sealed head" in output

    engine = make_engine(f"sqlite:///{tmp_path / 'node' / 'zhian.db'}")
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_entries SET actor_id = 'nobody' WHERE id = 1"))
    engine.dispose()
    code, output = invoke("audit", "verify", "-w", workspace)
    assert code == 1
    assert "edited" in output and "does not match its hash" in output


def test_retention_dry_run_lists_every_class(tmp_path: Path) -> None:
    workspace = str(tmp_path / "node")
    code, output = invoke("retention", "apply", "--dry-run", "-w", workspace)
    assert code == 0, output
    for data_class in (
        "face",
        "passage",
        "heartbeat",
        "alarm",
        "crowd",
        "quarantine",
        "images",
        "audit",
    ):
        assert data_class in output
    assert "would remove" in output
    code, output = invoke("quality", "report", "-w", workspace)
    assert code == 0, output
    assert "0 of 0 sources below the goal" in output


def test_rotation_reseals_capture_images_before_retiring_the_old_key(tmp_path: Path) -> None:
    workspace = tmp_path / "node"
    assert invoke("keys", "init", "-w", str(workspace))[0] == 0
    settings = load_settings(workspace)
    ring = load_keyring(settings.governance, settings.workspace)
    picture = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(picture, format="JPEG")
    before = ImageStore(settings.blob_dir, max_bytes=1 << 20, cipher=FieldCipher(ring))
    ref = before.save(picture.getvalue(), "image/jpeg")

    code, output = invoke("keys", "rotate", "-w", str(workspace))
    assert code == 0, output
    assert "blobs (capture images): 1" in output and "Retired keys: k1" in output
    rotated = load_keyring(settings.governance, settings.workspace)
    assert set(rotated.keys) == {"k2"}
    after = ImageStore(settings.blob_dir, max_bytes=1 << 20, cipher=FieldCipher(rotated))
    assert after.read(ref) == picture.getvalue()
    assert [key_id_of(stored) for _, stored in after.sealed_files()] == ["k2"]
    code, output = invoke("keys", "status", "-w", str(workspace))
    assert code == 0 and "k1" not in output

"""The log contract (tests/log/contract.py) run against every backend built so far."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.log.contract import LogContract, OpenLog
from zhian.config import LogSettings
from zhian.governance.crypto import FieldCipher
from zhian.governance.keys import generate_keyring
from zhian.log import LocalEventLog, SealedEventLog
from zhian.log.factory import open_event_log
from zhian.log.readers import local_log_readers

# A few contract records fill a segment, so pruning has whole segments to drop.
SEGMENT_BYTES = 200


class TestLocalLog(LogContract):
    @pytest.fixture
    def open_log(self, tmp_path: Path) -> Iterator[OpenLog]:
        yield lambda: LocalEventLog(tmp_path / "log", fsync=False, segment_bytes=SEGMENT_BYTES)

    def test_positions_are_seen_without_opening_the_log(self, tmp_path: Path) -> None:
        """Another process (a web worker, `zhian log readers`) reads them while the log is
        held: the folder lock keeps it from opening the log itself."""
        with LocalEventLog(tmp_path / "log", fsync=False) as log:
            log.append([b"one", b"two"])
            log.readers.ack("store", 2)
            seen = local_log_readers(tmp_path / "log").positions()
            assert [(p.name, p.seq) for p in seen] == [("store", 2)]
            assert local_log_readers(tmp_path / "log").drop("store")
            assert log.readers.positions() == []

    def test_another_process_reads_the_positions_while_the_log_is_held(
        self, tmp_path: Path
    ) -> None:
        script = (
            "import sys; from pathlib import Path; "
            "from zhian.log.readers import local_log_readers; "
            "print([(p.name, p.seq) for p in local_log_readers(Path(sys.argv[1])).positions()])"
        )
        with LocalEventLog(tmp_path / "log", fsync=False) as log:
            log.append([b"one", b"two", b"three"])
            log.readers.ack("store", 3)
            log.readers.ack("rules", 2)
            seen = subprocess.run(
                [sys.executable, "-c", script, str(tmp_path / "log")],
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
            )
        assert seen.stdout.strip() == "[('rules', 2), ('store', 3)]"


class TestSealedLog(LogContract):
    @pytest.fixture
    def open_log(self, tmp_path: Path) -> Iterator[OpenLog]:
        cipher = FieldCipher(generate_keyring())
        yield lambda: SealedEventLog(
            LocalEventLog(tmp_path / "log", fsync=False, segment_bytes=SEGMENT_BYTES), cipher
        )


def test_the_factory_builds_the_local_log_sealed_or_not(tmp_path: Path) -> None:
    settings = LogSettings(fsync=False)
    clear = open_event_log(settings, tmp_path / "clear", None)
    clear.close()
    assert isinstance(clear, LocalEventLog)
    sealed = open_event_log(settings, tmp_path / "sealed", FieldCipher(generate_keyring()))
    try:
        assert isinstance(sealed, SealedEventLog)
        assert sealed.append([b"x"]) == 1
    finally:
        sealed.close()


def test_an_unknown_log_type_is_refused() -> None:
    with pytest.raises(ValueError, match="type"):
        LogSettings.model_validate({"type": "kafka"})

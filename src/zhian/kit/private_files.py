"""Files at rest readable by their owner only.

A node's workspace holds personal data in several shapes (the operational database, the
event store, the sealed log, capture images, quarantined raw input), so everything it
writes there is for the node's user alone. One mechanism does it: a process that opens a
workspace sets an owner-only umask, so every file and folder it creates afterwards (SQLite
and its -wal/-shm, DuckDB, log segments, blobs, exports) comes out 0600/0700 whatever the
library creating it asks for; and at start-up the workspace is walked once to take group
and other permissions off what an older version, or a hand, left open.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Final

logger = logging.getLogger(__name__)

OWNER_ONLY_UMASK: Final = 0o077
_OPEN_TO_OTHERS: Final = stat.S_IRWXG | stat.S_IRWXO


def create_owner_only() -> None:
    """From now on this process creates files and folders for its user alone.

    The umask is process-wide: set once where a node or a command opens a workspace.
    """
    os.umask(OWNER_ONLY_UMASK)


def tighten_workspace(workspace: Path) -> list[Path]:
    """Take group and other permissions off every file and folder in the workspace.

    Links are neither followed nor changed (their own mode means nothing), and what
    belongs to another user is left alone with a warning: chmod would fail on it anyway.
    Returns what was changed; the caller says so in its log.
    """
    tightened: list[Path] = []
    if not workspace.is_dir():
        return tightened
    # Folders are visited in turn (os.walk does not descend into linked ones).
    for directory, _folders, files in os.walk(workspace):
        for path in [Path(directory), *(Path(directory, name) for name in files)]:
            if _tighten(path):
                tightened.append(path)
    return tightened


def _tighten(path: Path) -> bool:
    try:
        info = path.lstat()
    except FileNotFoundError:  # removed while we walked (a log segment pruned, say)
        return False
    if stat.S_ISLNK(info.st_mode) or not info.st_mode & _OPEN_TO_OTHERS:
        return False
    if info.st_uid != os.geteuid():
        logger.warning("%s belongs to another user and is open to others; left as it is", path)
        return False
    try:
        path.chmod(stat.S_IMODE(info.st_mode) & ~_OPEN_TO_OTHERS)
    except FileNotFoundError:
        return False
    return True

"""The "running node" marker: how other processes find the node serving a workspace.

`zhian serve` claims the workspace while it runs: it holds an exclusive lock on
`node-running.lock` and writes `node-running.json` (mode 0600) with its pid, a loopback
address and a random token. A command that needs the event store or the log reads the
marker and sends its work to that address with the token. The lock, not the pid, says
whether the node still runs: the kernel drops it when the process dies, even by kill -9,
so a marker left behind by a killed node is recognised as stale and ignored.
"""

from __future__ import annotations

import contextlib
import fcntl
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import msgspec

LOCK_FILE_NAME = "node-running.lock"
MARKER_FILE_NAME = "node-running.json"


class NodeAlreadyRunningError(Exception):
    """Another process holds the workspace's running-node lock."""


class RunningNode(msgspec.Struct, frozen=True):
    """What a serving node tells other processes on the same machine."""

    pid: int
    url: str
    token: str

    def accepts(self, token: str) -> bool:
        return hmac.compare_digest(self.token.encode(), token.encode())


@dataclass(frozen=True)
class NodeClaim:
    """A workspace claimed by this process; `release` (or the process's end) gives it up."""

    marker: RunningNode
    lock_fd: int
    workspace: Path

    def release(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.workspace / MARKER_FILE_NAME).unlink()
        os.close(self.lock_fd)


def loopback_url(host: str, port: int) -> str:
    """The address a process on this machine reaches a server listening on `host` at."""
    if host in ("", "0.0.0.0"):  # noqa: S104 - a wildcard listen address, read here
        host = "127.0.0.1"
    elif host in ("::", "[::]"):
        host = "::1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def claim_workspace(workspace: Path, url: str) -> NodeClaim:
    """Take the workspace's lock and publish the marker; NodeAlreadyRunningError if taken."""
    workspace.mkdir(parents=True, exist_ok=True)
    fd = os.open(workspace / LOCK_FILE_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        holder = read_marker(workspace)
        where = f" (pid {holder.pid}, {holder.url})" if holder else ""
        raise NodeAlreadyRunningError(f"a node is already running on {workspace}{where}") from None
    marker = RunningNode(pid=os.getpid(), url=url, token=secrets.token_urlsafe(32))
    # Written aside and renamed, so a reader never sees half a file; 0600 from the start,
    # because the token lets its bearer run retention and imports on the node.
    partial = workspace / (MARKER_FILE_NAME + ".partial")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    handle = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(handle, "wb") as out:
        out.write(msgspec.json.encode(marker))
    partial.replace(workspace / MARKER_FILE_NAME)
    return NodeClaim(marker, fd, workspace)


def read_marker(workspace: Path) -> RunningNode | None:
    """The marker as written, without asking whether its node still runs (None if absent)."""
    try:
        return msgspec.json.decode((workspace / MARKER_FILE_NAME).read_bytes(), type=RunningNode)
    except (FileNotFoundError, msgspec.DecodeError):
        return None


def find_running_node(workspace: Path) -> RunningNode | None:
    """The node serving `workspace` now, or None (no marker, or one left by a dead node)."""
    lock = workspace / LOCK_FILE_NAME
    try:
        fd = os.open(lock, os.O_RDONLY)
    except (FileNotFoundError, PermissionError):
        return None  # no node ever served here, or not one this user may reach
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return read_marker(workspace)  # held: its node runs
    finally:
        os.close(fd)  # closing drops a lock this probe may have taken
    return None

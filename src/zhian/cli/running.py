"""Commands that need the log or the event store: send the work to a running node, or open
the workspace when none runs, and say which (docs/cli.md, "While a node runs")."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import duckdb
import httpx
import msgspec
import typer

from zhian.cli.common import error_console, settings_for
from zhian.errors import ZhianError
from zhian.governance.quality import QualityReport
from zhian.governance.retention import RetentionReport
from zhian.ingest.ferry.package import PackageRejected
from zhian.ingest.ferry.service import ExportedPackage, ImportReport, WatchOutcome
from zhian.ingest.quarantine.service import ReplayReport
from zhian.kit.running import (
    NodeAlreadyRunningError,
    RunningNode,
    claim_workspace,
    find_running_node,
)
from zhian.log import EventLogError
from zhian.models.runner import ModelProgress, ModelRunReport
from zhian.node import Node
from zhian.node_operations import (
    PACKAGE_REJECTED,
    DeviceCheck,
    InProcessOperations,
    IntakeCounts,
    NodeOperations,
    decode_result,
)

ResultT = TypeVar("ResultT")
# A node that has just claimed its workspace may still be opening its log and store.
CONNECT_PATIENCE_SECONDS = 30.0


class NodeAnswerError(ZhianError):
    """The running node refused or failed a request; carries its status and code."""

    def __init__(self, status_code: int, code: str, message: str, field: str | None) -> None:
        super().__init__(message, field=field)
        self.status_code = status_code
        self.code = code


class NodeUnreachableError(ZhianError):
    """The workspace's node holds its lock but does not answer (starting, or stuck)."""

    status_code = 503
    code = "node_unreachable"


class CaughtUp(msgspec.Struct, frozen=True):
    caught_up: bool


class Refreshed(msgspec.Struct, frozen=True):
    refreshed: bool


class RemoteOperations:
    """`NodeOperations` sent to the node serving the workspace, over its control API."""

    def __init__(self, running: RunningNode, *, max_body_bytes: int) -> None:
        self.running = running
        self._max_body_bytes = max_body_bytes
        self._client = httpx.Client(
            base_url=f"{running.url}/api/v1/node",
            headers={"Authorization": f"Bearer {running.token}"},
            # Retention or a ferry package may take minutes on a large node.
            timeout=httpx.Timeout(600.0, connect=5.0),
        )

    def close(self) -> None:
        self._client.close()

    def ingest(self, items: list[bytes], *, refresh_directory: bool) -> IntakeCounts:
        totals = [0, 0, 0]
        for body in self._bodies(items):
            counts = self._call(
                "POST",
                "/ingest",
                IntakeCounts,
                content=body,
                params={"refresh_directory": refresh_directory},
                headers={"Content-Type": "application/x-ndjson"},
            )
            totals = [totals[0] + counts.accepted, totals[1] + counts.duplicate,
                      totals[2] + counts.rejected]  # fmt: skip
            refresh_directory = False
        return IntakeCounts(*totals)

    def wait_stored(self, timeout_seconds: float) -> bool:
        params = {"timeout_seconds": timeout_seconds}
        return self._call("POST", "/wait-stored", CaughtUp, params=params).caught_up

    def replay_quarantine(self, ids: list[int] | None, reason_code: str | None) -> ReplayReport:
        body = {"ids": ids, "reason_code": reason_code}
        return self._call("POST", "/quarantine/replay", ReplayReport, json=body)

    def ferry_export(
        self, since: datetime, until: datetime, out_dir: Path
    ) -> list[ExportedPackage]:
        body = {"since": since.isoformat(), "until": until.isoformat(),
                "out_dir": str(out_dir.resolve())}  # fmt: skip
        return self._call("POST", "/ferry/export", list[ExportedPackage], json=body)

    def ferry_import(self, package: Path) -> ImportReport:
        try:
            body = {"path": str(package.resolve())}
            return self._call("POST", "/ferry/import", ImportReport, json=body)
        except NodeAnswerError as error:
            if error.code == PACKAGE_REJECTED:
                raise PackageRejected(error.message, file=error.field or "manifest.json") from None
            raise

    def ferry_watch_once(self, directory: Path) -> list[WatchOutcome]:
        body = {"path": str(directory.resolve())}
        return self._call("POST", "/ferry/watch-once", list[WatchOutcome], json=body)

    def apply_retention(self, *, dry_run: bool) -> RetentionReport:
        params = {"dry_run": dry_run}
        return self._call("POST", "/retention/apply", RetentionReport, params=params)

    def quality_report(self, since: datetime, until: datetime) -> QualityReport:
        params = {"since": since.isoformat(), "until": until.isoformat()}
        return self._call("GET", "/quality", QualityReport, params=params)

    def run_models(
        self, model: str | None, as_of: datetime | None, progress: ModelProgress | None = None
    ) -> ModelRunReport:
        # The node runs them in its own process: no progress per model comes back.
        params = {k: v for k, v in (("model", model),
                  ("as_of", as_of.isoformat() if as_of else None)) if v is not None}  # fmt: skip
        return self._call("POST", "/models/run", ModelRunReport, params=params)

    def refresh_directory(self) -> None:
        self._call("POST", "/directory/refresh", Refreshed)

    def device_check(self, device_id: str) -> DeviceCheck:
        path = f"/devices/{quote(device_id, safe='')}/check"
        return self._call("GET", path, DeviceCheck)

    def _bodies(self, items: list[bytes]) -> Iterator[bytes]:
        """NDJSON bodies within the node's request size limit."""
        batch: list[bytes] = []
        size = 0
        for item in items:
            if batch and size + len(item) + 1 > self._max_body_bytes:
                yield b"\n".join(batch)
                batch, size = [], 0
            batch.append(item)
            size += len(item) + 1
        if batch:
            yield b"\n".join(batch)

    def _call(self, method: str, path: str, result_type: type[ResultT], **request: Any) -> ResultT:
        deadline = time.monotonic() + CONNECT_PATIENCE_SECONDS
        while True:
            try:
                response = self._client.request(method, path, **request)
                break
            except httpx.ConnectError:
                if time.monotonic() > deadline:
                    raise NodeUnreachableError(
                        f"The node (pid {self.running.pid}) does not answer at "
                        f"{self.running.url}; wait until it has started, or stop it."
                    ) from None
                time.sleep(0.5)
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                error = {"code": "node_error", "message": response.text[:200]}
            raise NodeAnswerError(
                response.status_code,
                str(error.get("code", "node_error")),
                str(error.get("message", "")),
                error.get("field"),
            )
        return decode_result(response.content, result_type)


def _fail(message: str) -> typer.Exit:
    error_console.print(f"[bold red]{message}[/bold red]", soft_wrap=True)
    return typer.Exit(2)


@contextmanager
def node_operations(workspace: Path, *, feed: bool = True) -> Iterator[NodeOperations]:
    """The workspace's log and store work: sent to its running node, or done in this process
    on a node opened here (`feed`: with its store feeder and loops running). Prints which;
    a refusal or failure ends the command with one line, not a traceback."""
    settings = settings_for(workspace)
    running = find_running_node(settings.workspace)
    if running is not None:
        error_console.print(f"node running at {running.url}: sending to it", soft_wrap=True)
        remote = RemoteOperations(running, max_body_bytes=settings.intake.max_body_bytes)
        try:
            yield remote
        except NodeAnswerError as error:
            raise _fail(f"The node refused: {error.message}") from None
        except ZhianError as error:
            raise _fail(error.message) from None
        except httpx.HTTPError as error:
            raise _fail(f"The node at {running.url} did not answer: {error}") from None
        finally:
            remote.close()
        return
    error_console.print("no node running: opening the workspace directly")
    try:
        node = Node.open(settings, feed=feed)
    except (EventLogError, duckdb.IOException) as error:
        # Held by a process that published no marker (a node opened by other code).
        raise _fail(
            f"The workspace's log or event store is in use by another process ({error}). "
            "Stop that process, or run the node with `zhian serve`, which takes commands."
        ) from None
    except ZhianError as error:
        raise _fail(error.message) from None
    with node:
        try:
            yield InProcessOperations(node)
        except ZhianError as error:
            raise _fail(error.message) from None


@contextmanager
def claim_for_serving(workspace: Path, url: str) -> Iterator[RunningNode]:
    """Publish the running-node marker while a node serves; a second node on the same
    workspace is refused with one line."""
    try:
        claim = claim_workspace(workspace, url)
    except NodeAlreadyRunningError as error:
        raise _fail(
            f"Refusing to start: {error}. Stop it first, or use another --workspace."
        ) from None
    try:
        yield claim.marker
    finally:
        claim.release()


def tell_running_node(workspace: Path) -> None:
    """Have the node serving the workspace, if one does, reload its devices now (a rotated
    token stops working at once, not at the next periodic reload). Says so in one line."""
    settings = settings_for(workspace)
    running = find_running_node(settings.workspace)
    if running is None:
        return
    remote = RemoteOperations(running, max_body_bytes=settings.intake.max_body_bytes)
    try:
        remote.refresh_directory()
    except (ZhianError, httpx.HTTPError) as error:
        message = error.message if isinstance(error, ZhianError) else str(error)
        raise _fail(
            f"Saved, but the node at {running.url} did not reload its devices ({message}); "
            "it reloads them within intake.directory_refresh_seconds."
        ) from None
    finally:
        remote.close()
    error_console.print(f"node running at {running.url}: it reloaded its devices", soft_wrap=True)

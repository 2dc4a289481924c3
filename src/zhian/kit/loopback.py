"""A loopback channel between the processes of one node: named queries, a token, JSON.

One process answers named queries on a loopback port and publishes where it listens, with
a fresh random token, in a file of the workspace readable by the node's user only. Another
process reads the file at each call, so a restarted answerer (new port, new token) is
found again. Arguments and answers travel as JSON encoded by msgspec and decoded into the
type the caller names.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx
import msgspec

from zhian.errors import ZhianError

TOKEN_HEADER: Final = "X-Zhian-Node-Token"  # noqa: S105 - a header name, not a secret
QUERY_PATH_PREFIX: Final = "/query/"


class PeerUnreachableError(ZhianError):
    """The process that answers these queries did not answer (not running, or failing)."""

    status_code = 503
    code = "peer_process_unreachable"


@dataclass(frozen=True)
class LoopbackEndpoint:
    """Where a process answers queries, and the token it wants."""

    url: str
    token: str

    @classmethod
    def new(cls, host: str, port: int) -> LoopbackEndpoint:
        return cls(url=f"http://{host}:{port}", token=secrets.token_urlsafe(32))

    def publish(self, path: Path) -> None:
        """Write the endpoint file, readable by this user only, replacing any old one."""
        staging = path.with_suffix(".tmp")
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"url": self.url, "token": self.token}, out)
        staging.replace(path)

    @classmethod
    def read(cls, path: Path) -> LoopbackEndpoint | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        return cls(url=str(data["url"]), token=str(data["token"]))

    def withdraw(self, path: Path) -> None:
        """Remove the endpoint file if it is still this endpoint's."""
        current = LoopbackEndpoint.read(path)
        if current is not None and secrets.compare_digest(current.token, self.token):
            path.unlink(missing_ok=True)


class LoopbackClient:
    """Asks the process published in `endpoint_file` for named queries."""

    def __init__(self, endpoint_file: Path, *, missing_hint: str, timeout_seconds: float = 10.0):
        self._endpoint_file = endpoint_file
        self._missing_hint = missing_hint
        self._client = httpx.Client(timeout=timeout_seconds)

    def ask(self, name: str, arguments: dict[str, object], answer_type: Any) -> Any:
        """The answer to query `name`, decoded as `answer_type`."""
        endpoint = LoopbackEndpoint.read(self._endpoint_file)
        if endpoint is None:
            raise PeerUnreachableError(
                f"{self._missing_hint} (no {self._endpoint_file.name} in "
                f"{self._endpoint_file.parent})"
            )
        try:
            response = self._client.post(
                endpoint.url + QUERY_PATH_PREFIX + name,
                content=msgspec.json.encode(arguments),
                headers={TOKEN_HEADER: endpoint.token, "Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise PeerUnreachableError(f"{self._missing_hint}: it did not answer ({exc})") from exc
        if response.status_code != 200:
            raise PeerUnreachableError(
                f"the query {name!r} was refused: HTTP {response.status_code}"
            )
        return msgspec.json.decode(response.content, type=answer_type)

    def close(self) -> None:
        self._client.close()

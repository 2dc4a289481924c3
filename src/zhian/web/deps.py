"""Request dependencies shared by routes: the request's context (user, scope, one database
transaction), the node, device authentication, bounded bodies.

`RequestContext` follows Polar's `get_db_session`: one session per request, committed once
when the handler returns and rolled back when it raises. Handlers never open their own
transaction; services never commit. What must happen only after the commit (live-feed
messages) or despite the rollback (a refused reveal's audit entry) is queued on the
context and done when the transaction has ended.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from functools import cached_property
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.access.service import AccessService, UserRead
from zhian.alerts.service import AlertService
from zhian.errors import PayloadTooLargeError, UnauthorizedError
from zhian.governance.reveal import RefusedReveal, RevealRead, RevealService, record_refusal
from zhian.node import Node
from zhian.web.page_cache import PageCache, page_cache_of
from zhian.web.sessions import current_user

T = TypeVar("T")
# Methods that change nothing (RFC 9110): only their answers are shared.
SAFE_METHODS = frozenset({"GET", "HEAD"})


def get_node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


async def node_dependency(request: Request) -> Node:
    """`get_node` as a dependency: async, so FastAPI runs it without a thread-pool trip."""
    return get_node(request)


class RequestContext:
    """What a handler works with: the node, the signed-in user, the user's jurisdiction
    scope and the request's one database session."""

    def __init__(
        self,
        node: Node,
        user: UserRead,
        session: Session,
        ip: str | None,
        *,
        cache: PageCache | None = None,
        is_read_only: bool = False,
    ) -> None:
        self.node = node
        self.user = user
        self.session = session
        self.ip = ip
        self._after_commit: list[Callable[[], None]] = []
        self._refusals: list[RefusedReveal] = []
        # Answers are shared only by requests that change nothing: one that writes reads
        # its own uncommitted changes, which must not reach anyone else; once it commits,
        # every answer kept is forgotten.
        self._cache = cache if is_read_only else None
        self._written_cache = None if is_read_only else cache
        # Read before the session's first statement (SQLite reads from a snapshot taken
        # then): a change this request cannot see has not yet moved the count.
        self._changes_seen = None if self._cache is None else self._cache.changes()

    def cached(self, key: Hashable, compute: Callable[[], T]) -> T:
        """`compute()`'s answer, shared for a moment with other read-only requests asking
        with the same `key` (which must name the scope or the user it depends on)."""
        if self._cache is None:
            return compute()
        return self._cache.get(key, compute, changes=self._changes_seen)

    @cached_property
    def scope(self) -> JurisdictionScope:
        """The user's jurisdiction scope (docs/dev/scoping.md), read once per request and
        shared by users of the same role and jurisdiction while the page cache keeps it."""
        user = self.user
        return self.cached(
            ("scope", user.role, user.jurisdiction_id),
            lambda: AccessService(self.session).scope_for(user),
        )

    @cached_property
    def alerts(self) -> AlertService:
        """The alert service on this request's session; its live messages are published
        once the request has committed (a rolled-back change is never announced)."""
        service = AlertService(
            self.session,
            clock=self.node.clock,
            settings=self.node.settings.alerts,
            cipher=self.node.alert_loop.cipher,
        )

        def publish() -> None:
            for message in service.messages:
                self.node.alert_loop.announce(message)  # live feed and Web Push

        self._after_commit.append(publish)
        return service

    @cached_property
    def reveal(self) -> RevealService:
        """The reveal service for this request: reveals audited in its transaction,
        refusals audited in one of their own after it ends."""
        governance = self.node.governance
        return RevealService(
            self.session,
            audit=governance.audit(self.session),
            refusals=self._refusals.append,
            vault=self.node.vault,
            sealer=governance.sealer,
        )

    def read(
        self, action: str, record_type: str, *record_ids: str, **details: object
    ) -> RevealRead:
        """A `RevealRead` of this request (its client address filled in)."""
        return RevealRead(action, record_type, record_ids, self.ip, details)

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run `action` once the request has committed (e.g. reload what the rule engine
        holds in memory); never when it rolled back."""
        self._after_commit.append(action)

    def finish(self, *, committed: bool) -> None:
        """After the transaction: publish what the commit made true, audit refusals."""
        if committed:
            if self._written_cache is not None:
                self._written_cache.note_write()
            for action in self._after_commit:
                action()
        if self._refusals:
            with self.node.db.session() as session:
                audit = self.node.governance.audit(session)
                for refused in self._refusals:
                    record_refusal(audit, refused)


def request_context(
    request: Request,
    node: Annotated[Node, Depends(node_dependency)],
    user: Annotated[UserRead, Depends(current_user)],
) -> Iterator[RequestContext]:
    """One transaction per request: commit when the handler returns, roll back when it
    raises (`Database.session` does both), then run what waits on the outcome."""
    ip = request.client.host if request.client else None
    context: RequestContext | None = None
    committed = False
    try:
        with node.db.session() as session:
            context = RequestContext(
                node,
                user,
                session,
                ip,
                cache=page_cache_of(request),
                is_read_only=request.method in SAFE_METHODS,
            )
            yield context
        committed = True
    finally:
        if context is not None:
            context.finish(committed=committed)


# `scope="function"`: the commit happens before the response is sent, so a client that
# reads right after a write sees it, and a failing commit is the request's error.
Context = Annotated[RequestContext, Depends(request_context, scope="function")]


def authenticate_device(request: Request) -> str:
    """The device id behind the request's bearer token; 401 when missing, unknown or the
    device is disabled (saying so)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError(
            "send the device token as 'Authorization: Bearer <token>'", field="Authorization"
        )
    directory = get_node(request).intake.directory
    device_id = directory.authenticate(token.strip())
    if device_id is None:
        holder = directory.token_holder(token.strip())
        if holder is not None:
            # The sender holds the token: telling it why saves an integrator's afternoon.
            raise UnauthorizedError(
                f"device '{holder}' is disabled: its events are refused until it is enabled "
                "again (zhian devices enable)",
                field="Authorization",
            )
        raise UnauthorizedError("the device token is not valid", field="Authorization")
    return device_id


async def read_bounded_body(request: Request, limit: int) -> bytes:
    """Read the body, refusing (413) as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"body is {declared} bytes; the limit is {limit}", field="body")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"body exceeds the limit of {limit} bytes", field="body")
        chunks.append(chunk)
    return b"".join(chunks)

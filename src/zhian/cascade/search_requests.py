"""Cross-node search (跨区域研判): a parent user with a case asks the child nodes for a
subject's passages; each child checks the request, searches its own store, audits it and
answers; the parent keeps each child's answer and audits the ask and every read.

Links go child → parent, so a request is delivered the way orders are: the child asks for
pending requests (`GET /api/v1/cascade/search-requests`, node credential) and posts each
answer (`POST /api/v1/cascade/search-answers`). Each request is signed for the credential
that fetched it: an HMAC-SHA256 of the request's bytes keyed with the sha256 of the node
credential, which the parent keeps and the child can compute from its token. A request
altered on the way, or made by anyone who does not hold the credential's hash, does not
verify and is refused below; so is one past its expiry (a replay), one whose jurisdiction
does not cover the child, one without a case number and reason, and one whose period is
unbounded or longer than the trajectory searches allow. A refusal is an answer too.

The subject (a plate, or a resident's ID-card number) travels in the clear over the
credential's link, as watchlist orders do, and each side tokenises it with its own keys.
Answers carry masked identifiers only: what every role sees of a passage without a reveal,
and a reveal at the parent cannot open a child's token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Final, Literal

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhian.access.models import ApiToken
from zhian.access.repository import UserRepository
from zhian.access.roles import Role
from zhian.access.scope import JurisdictionScope
from zhian.access.service import UserRead, hash_api_token
from zhian.audit.service import Actor, AuditService
from zhian.cascade.repository import ChildDataRepository
from zhian.cascade.search_models import CrossSearchAnswer, CrossSearchRequest, subject_context
from zhian.cascade.wire import Id64, NodeId
from zhian.cases.service import CaseService
from zhian.db.engine import Database
from zhian.devices.service import DeviceService
from zhian.errors import BadRequestError, ConflictError, ForbiddenError, NotFoundError
from zhian.governance.masking import mask_id_number, mask_plate
from zhian.governance.plates import PlateRefusedError, read_plate
from zhian.governance.reveal import Purpose
from zhian.governance.validation import InvalidValueError, normalise_id_number
from zhian.ingest.events import AwareTime
from zhian.kit.clock import Clock
from zhian.registry.identity import IdentityProtector
from zhian.registry.models import Resident
from zhian.store.remote import EventReads
from zhian.trajectories.service import MAX_DAYS, MAX_PASSAGES

logger = logging.getLogger(__name__)

SubjectKind = Literal["plate", "id_number"]
SUBJECT_KINDS: Final = ("plate", "id_number")
# How long the children have to answer, unless the asker says otherwise (minutes).
DEFAULT_EXPIRY_MINUTES: Final = 60
MAX_EXPIRY_MINUTES: Final = 24 * 60
# Statuses of a child's part of a request.
PENDING, ANSWERED, REFUSED, TIMED_OUT = "pending", "answered", "refused", "timed_out"
# The audit actions (both sides).
ASK, READ, ANSWER, REFUSE, RELAY = (
    "cascade.search.ask",
    "cascade.search.read",
    "cascade.search.answer",
    "cascade.search.refuse",
    "cascade.search.relay",
)
# How many levels below the asking node a request goes at most (city → district →
# community → below): a node this deep answers from its own store and passes nothing on.
MAX_RELAY_DEPTH: Final = 3
# The child's own actor in its audit trail: the parent user who asked is in the details.
CHILD_ACTOR: Final = Actor.system("cascade-search")
Text500 = Annotated[str, msgspec.Meta(max_length=500)]


# --- on the wire (msgpack, node credential) -------------------------------------------------
# Parent and child are upgraded one at a time, so either may be a version ahead: a field
# the reader does not know is ignored (`forbid_unknown_fields=False`), as a new field must
# have a default for older senders; a missing required field is still refused, naming it.


class SearchAsked(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=False):
    """One request as a child receives it (the signed bytes decode to this)."""

    request_id: Id64
    node_id: NodeId
    subject_kind: SubjectKind
    subject: Annotated[str, msgspec.Meta(max_length=64)]
    # The asking user's role and jurisdiction: the child searches only what the user's
    # scope would cover there (None: an unscoped user, the child's whole store).
    role: Annotated[str, msgspec.Meta(max_length=32)]
    jurisdiction_id: Annotated[str, msgspec.Meta(max_length=64)] | None
    user_id: int
    username: Annotated[str, msgspec.Meta(max_length=64)]
    display_name: Annotated[str, msgspec.Meta(max_length=200)]
    case_number: Annotated[str, msgspec.Meta(max_length=64)]
    reason: Text500
    since: AwareTime
    until: AwareTime
    asked_at: AwareTime
    expires_at: AwareTime
    # The nodes the request came down through (top first): empty when the asker's node is
    # this node's parent.
    relay_path: Annotated[list[NodeId], msgspec.Meta(max_length=MAX_RELAY_DEPTH)] = []


class SignedSearch(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """A request's bytes (msgpack of `SearchAsked`) and their HMAC for the credential."""

    body: bytes
    signature: Annotated[str, msgspec.Meta(max_length=128)]


class PendingSearches(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    node_id: NodeId
    searches: list[SignedSearch]


class AnsweredPassage(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=False):
    """One passage of the subject at the child, masked."""

    time: AwareTime
    type: Annotated[str, msgspec.Meta(max_length=16)]
    device_id: Id64
    device_name: Annotated[str, msgspec.Meta(max_length=200)]
    event_id: Annotated[str, msgspec.Meta(max_length=128)]
    subject_masked: Annotated[str, msgspec.Meta(max_length=80)]


class SearchAnswer(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=False):
    """A child's answer: its passages, or its refusal with the reason."""

    node_id: NodeId
    request_id: Id64
    status: Literal["answered", "refused"]
    refusal: Text500 = ""
    passages: Annotated[list[AnsweredPassage], msgspec.Meta(max_length=MAX_PASSAGES)] = []
    # A node below the sender answering through it: the nodes between (the sender first).
    via: Annotated[list[NodeId], msgspec.Meta(max_length=MAX_RELAY_DEPTH)] = []
    # The nodes the answering node passed the request on to (their answers follow).
    relayed: Annotated[list[NodeId], msgspec.Meta(max_length=1000)] = []


ENCODER: Final = msgspec.msgpack.Encoder()
ASKED_DECODER: Final = msgspec.msgpack.Decoder(SearchAsked)
PENDING_DECODER: Final = msgspec.msgpack.Decoder(PendingSearches)
ANSWER_DECODER: Final = msgspec.msgpack.Decoder(SearchAnswer)
_PASSAGES_JSON: Final = msgspec.json.Decoder(list[AnsweredPassage])


def credential_key(token_sha256: str) -> bytes:
    """The signing key of a node credential: its sha256, which the parent keeps (never the
    token) and the child computes from the token it holds."""
    return bytes.fromhex(token_sha256)


def signature(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


# --- parent side: what a user asks and reads ------------------------------------------------


@dataclass(frozen=True)
class SearchAsk:
    """What a parent user asks: the subject, the period, the purpose, and whom."""

    subject_kind: str
    subject: str | None
    case_number: str | None
    reason: str | None
    since: datetime
    until: datetime
    node_id: str | None = None
    expires_in_minutes: int = DEFAULT_EXPIRY_MINUTES


@dataclass(frozen=True)
class ChildAnswerRead:
    """One child's part of a request, as the asker sees it."""

    node_id: str
    status: str
    refusal: str | None
    passages: int
    delivered_at: datetime | None
    answered_at: datetime | None
    rows: list[AnsweredPassage] = field(default_factory=list)
    # The node path from the child of this node down to the answering node ("/"-joined).
    path: str = ""


@dataclass(frozen=True)
class CrossSearchRead:
    """A request and its children's answers (their passages only when read in full)."""

    id: str
    subject_kind: str
    subject_masked: str
    case_number: str
    reason: str
    since: datetime
    until: datetime
    target_node_id: str | None
    asked_at: datetime
    expires_at: datetime
    answers: list[ChildAnswerRead]

    @property
    def is_open(self) -> bool:
        """Whether any child may still answer."""
        return any(answer.status == PENDING for answer in self.answers)

    @property
    def total_passages(self) -> int:
        return sum(answer.passages for answer in self.answers)


class CrossSearchService:
    """A parent user's cross-node searches, within their scope, audited.

    The caller owns the session (one transaction: the request and its audit entry commit
    together)."""

    def __init__(
        self,
        session: Session,
        *,
        clock: Clock,
        identity: IdentityProtector,
        audit: AuditService,
        cases: CaseService,
        user: UserRead,
        scope: JurisdictionScope,
        ip: str | None = None,
    ) -> None:
        self._session = session
        self._clock = clock
        self._identity = identity
        self._audit = audit
        self._cases = cases
        self._user = user
        self._scope = scope
        self._ip = ip

    def ask(self, ask: SearchAsk) -> CrossSearchRead:
        """Record a request to the children and audit it; 400 naming the field for a
        missing case number, reason, subject or a bad period, 404 for a case not of the
        user's jurisdiction, 403 for a child outside it."""
        purpose = _purpose(ask.case_number, ask.reason)
        try:
            self._cases.get(purpose.case_number or "")
        except NotFoundError:
            raise NotFoundError(
                f"no case '{(ask.case_number or '')[:64]}' in your jurisdiction",
                field="case_number",
            ) from None
        kind, subject = _subject(ask.subject_kind, ask.subject)
        _check_period(ask.since, ask.until)
        if not 1 <= ask.expires_in_minutes <= MAX_EXPIRY_MINUTES:
            raise BadRequestError(
                f"the children answer within 1 to {MAX_EXPIRY_MINUTES} minutes",
                field="expires_in_minutes",
            )
        nodes = self._targets(ask.node_id)
        now = self._clock.now()
        request_id = secrets.token_hex(16)
        token = self._identity.token(kind, subject)
        masked = mask_plate(subject) if kind == "plate" else mask_id_number(subject)
        request = CrossSearchRequest(
            id=request_id,
            user_id=self._user.id,
            username=self._user.username,
            display_name=self._user.display_name,
            role=str(self._user.role),
            jurisdiction_id=self._user.jurisdiction_id,
            case_number=purpose.case_number or "",
            reason=purpose.reason or "",
            subject_kind=kind,
            subject_token=token,
            subject_masked=masked,
            subject_enc=self._identity.seal(*subject_context(request_id), subject),
            since=ask.since,
            until=ask.until,
            target_node_id=ask.node_id,
            asked_at=now,
            expires_at=now + timedelta(minutes=ask.expires_in_minutes),
        )
        self._session.add(request)
        self._session.flush()
        for node_id in nodes:
            self._session.add(
                CrossSearchAnswer(
                    request_id=request_id,
                    node_id=node_id,
                    status=PENDING,
                    refusal=None,
                    passages=0,
                    body=None,
                    delivered_at=None,
                    answered_at=None,
                    path=node_id,
                )
            )
        self._session.flush()
        self._audit.record(
            Actor.user(self._user.id),
            ASK,
            record_type=kind,
            record_ids=[token],
            ip=self._ip,
            purpose=purpose.reason,
            case_number=purpose.case_number,
            details={
                "request_id": request_id,
                "nodes": nodes,
                "since": ask.since.isoformat(),
                "until": ask.until.isoformat(),
            },
        )
        return self._read(request, with_rows=False)

    def list_mine(self, limit: int = 50) -> list[CrossSearchRead]:
        """The user's own requests, newest first, with each child's status (no passages)."""
        rows = self._session.scalars(
            select(CrossSearchRequest)
            .where(
                CrossSearchRequest.user_id == self._user.id,
                CrossSearchRequest.parent_request_id.is_(None),
            )
            .order_by(CrossSearchRequest.asked_at.desc())
            .limit(limit)
        )
        return [self._read(row, with_rows=False) for row in rows]

    def status(self, request_id: str) -> CrossSearchRead:
        """A request's children and their status and counts, without passages (unaudited)."""
        return self._read(self._own(request_id), with_rows=False)

    def read(self, request_id: str, node_id: str | None = None) -> CrossSearchRead:
        """A request with the passages the children answered (of one child with `node_id`);
        each read is audited, naming the subject's token, the case and the children read."""
        request = self._own(request_id)
        result = self._read(request, with_rows=True, node_id=node_id)
        if node_id is not None and not result.answers:
            raise NotFoundError(f"child '{node_id[:64]}' was not asked", field="node_id")
        self._audit.record(
            Actor.user(self._user.id),
            READ,
            record_type=request.subject_kind,
            record_ids=[request.subject_token],
            ip=self._ip,
            purpose=request.reason,
            case_number=request.case_number,
            details={
                "request_id": request.id,
                "nodes": [a.node_id for a in result.answers if a.status == ANSWERED],
                "passages": sum(a.passages for a in result.answers),
            },
        )
        return result

    def _own(self, request_id: str) -> CrossSearchRequest:
        request = self._session.get(CrossSearchRequest, request_id)
        if (
            request is None
            or request.user_id != self._user.id
            or request.parent_request_id is not None  # passed on for a parent's user
        ):
            # Another user's request is theirs, for their case: not shown, not confirmed.
            raise NotFoundError(f"no search request '{request_id[:64]}' of yours",
                                field="request_id")  # fmt: skip
        return request

    def _targets(self, node_id: str | None) -> list[str]:
        children = ChildDataRepository(self._session).children()
        every = {row.node_id: row.jurisdiction_id for row in children}
        # The children whose jurisdiction the user's scope covers (ChildReadService's rule).
        mine = sorted(n for n, j in every.items() if self._scope.contains(j))
        if node_id is None:
            if not mine:
                raise NotFoundError("no child node lies in your jurisdiction", field="node_id")
            return mine
        if node_id not in every:
            raise NotFoundError(f"no child node '{node_id[:64]}'", field="node_id")
        if node_id not in mine:
            raise ForbiddenError(
                f"child node '{node_id[:64]}' lies outside your jurisdiction", field="node_id"
            )
        return [node_id]

    def _read(
        self, request: CrossSearchRequest, *, with_rows: bool, node_id: str | None = None
    ) -> CrossSearchRead:
        now = self._clock.now()
        query = select(CrossSearchAnswer).where(CrossSearchAnswer.request_id == request.id)
        if node_id is not None:
            query = query.where(CrossSearchAnswer.node_id == node_id)
        answers = [
            ChildAnswerRead(
                node_id=row.node_id,
                status=_status(row, request, now),
                refusal=row.refusal,
                passages=row.passages,
                delivered_at=row.delivered_at,
                answered_at=row.answered_at,
                rows=_PASSAGES_JSON.decode(row.body) if with_rows and row.body else [],
                path=row.path or row.node_id,
            )
            for row in self._session.scalars(query.order_by(CrossSearchAnswer.id))
        ]
        return CrossSearchRead(
            id=request.id,
            subject_kind=request.subject_kind,
            subject_masked=request.subject_masked,
            case_number=request.case_number,
            reason=request.reason,
            since=request.since,
            until=request.until,
            target_node_id=request.target_node_id,
            asked_at=request.asked_at,
            expires_at=request.expires_at,
            answers=answers,
        )


def _status(row: CrossSearchAnswer, request: CrossSearchRequest, now: datetime) -> str:
    if row.status == PENDING and now >= request.expires_at:
        return TIMED_OUT
    return row.status


def _purpose(case_number: str | None, reason: str | None) -> Purpose:
    if not (case_number or "").strip():
        raise BadRequestError("a cross-node search needs a case number", field="case_number")
    if not (reason or "").strip():
        raise BadRequestError("state the purpose of the search", field="reason")
    return Purpose(case_number, reason).checked()


def _subject(kind: str, value: str | None) -> tuple[str, str]:
    """The subject as both sides tokenise it: a plate by the plate rule, an ID-card number
    normalised; 400 naming the field otherwise."""
    if kind not in SUBJECT_KINDS:
        raise BadRequestError("the subject kind is 'plate' or 'id_number'", field="subject_kind")
    text = (value or "").strip()
    if not text:
        raise BadRequestError(f"a {kind} search needs `{kind}`", field=kind)
    try:
        return kind, read_plate(text) if kind == "plate" else normalise_id_number(text)
    except (PlateRefusedError, InvalidValueError) as exc:
        raise BadRequestError(f"the {kind} {exc}", field=kind) from None


def _check_period(since: datetime, until: datetime) -> None:
    if until <= since:
        raise BadRequestError("the period must end after it starts", field="until")
    if until - since > timedelta(days=MAX_DAYS):
        raise BadRequestError(f"search at most {MAX_DAYS} days at a time", field="until")


# --- parent side: the children's end (node credential) ------------------------------------


class SearchDelivery:
    """Hands pending requests to a child and takes its answers. `credential_scope` checks
    that the credential speaks for the node (`ChildBatchService.credential_scope`)."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        identity: IdentityProtector | None,
        credential_scope: Callable[[UserRead, str], JurisdictionScope],
    ) -> None:
        self._db = db
        self._clock = clock
        self._identity = identity
        self._credential_scope = credential_scope

    def pending_for(self, node_id: str, credential: UserRead) -> PendingSearches:
        """The requests still waiting for this child's answer, not expired, each signed
        for the credential that asks."""
        self._credential_scope(credential, node_id)
        now = self._clock.now()
        signed: list[SignedSearch] = []
        with self._db.session() as session:
            key = credential_key(_token_sha256(session, credential))
            rows = session.execute(
                select(CrossSearchAnswer, CrossSearchRequest)
                .join(CrossSearchRequest, CrossSearchRequest.id == CrossSearchAnswer.request_id)
                .where(
                    CrossSearchAnswer.node_id == node_id,
                    CrossSearchAnswer.status == PENDING,
                    CrossSearchRequest.expires_at > now,
                )
                .order_by(CrossSearchRequest.asked_at)
            ).all()
            for answer, request in rows:
                if self._identity is None:
                    break  # nothing sealed can be opened here (no key ring): nothing asked
                body = ENCODER.encode(_asked(request, node_id, self._identity))
                signed.append(SignedSearch(body=body, signature=signature(key, body)))
                answer.delivered_at = answer.delivered_at or now
        return PendingSearches(node_id=node_id, searches=signed)

    def take_answer(self, answer: SearchAnswer, credential: UserRead) -> str:
        """Keep a child's answer (its status per child); 404 for a request it was not asked,
        409 once it answered or the request timed out."""
        self._credential_scope(credential, answer.via[0] if answer.via else answer.node_id)
        now = self._clock.now()
        path = "/".join([*answer.via, answer.node_id])
        with self._db.session() as session:
            request = session.get(CrossSearchRequest, answer.request_id)
            row = session.scalars(
                select(CrossSearchAnswer).where(
                    CrossSearchAnswer.request_id == answer.request_id,
                    CrossSearchAnswer.node_id == answer.node_id,
                )
            ).one_or_none()
            if request is None or row is None or (row.path or row.node_id) != path:
                raise NotFoundError(
                    f"node '{answer.node_id}' was not asked '{answer.request_id}'",
                    field="request_id",
                )
            status = _status(row, request, now)
            if status != PENDING:
                raise ConflictError(f"the request is {status} for this node", field="request_id")
            row.status = answer.status
            row.answered_at = now
            if answer.status == REFUSED:
                row.refusal = answer.refusal or "-"
                row.passages = 0
            else:
                row.passages = len(answer.passages)
                row.body = msgspec.json.encode(answer.passages).decode()
            added = self._expect(session, row, path, answer.relayed)
            row.relayed = json.dumps(added) if added else None
            return row.status

    @staticmethod
    def _expect(
        session: Session, row: CrossSearchAnswer, path: str, relayed: list[str]
    ) -> list[str]:
        """A pending part for each node the child passed the request on to, under its path
        (within the depth limit; a node already asked for this request is not asked twice)."""
        depth = path.count("/") + 1
        if not relayed or depth >= MAX_RELAY_DEPTH:
            return []
        asked = set(
            session.scalars(
                select(CrossSearchAnswer.node_id).where(
                    CrossSearchAnswer.request_id == row.request_id
                )
            )
        )
        added: list[str] = []
        for node_id in relayed:
            if node_id in asked:
                continue
            asked.add(node_id)
            added.append(node_id)
            session.add(
                CrossSearchAnswer(
                    request_id=row.request_id,
                    node_id=node_id,
                    status=PENDING,
                    refusal=None,
                    passages=0,
                    body=None,
                    delivered_at=None,
                    answered_at=None,
                    path=f"{path}/{node_id}",
                )
            )
        return added


def _token_sha256(session: Session, credential: UserRead) -> str:
    token = session.get(ApiToken, credential.token_id) if credential.token_id else None
    if token is None:
        raise ForbiddenError("a child node asks with its node credential", field="Authorization")
    return token.token_sha256


def _asked(request: CrossSearchRequest, node_id: str, identity: IdentityProtector) -> SearchAsked:
    return SearchAsked(
        request_id=request.id,
        node_id=node_id,
        subject_kind=request.subject_kind,  # type: ignore[arg-type]  # checked when asked
        subject=identity.open(*subject_context(request.id), request.subject_enc),
        role=request.role,
        jurisdiction_id=request.jurisdiction_id,
        user_id=request.user_id,
        username=request.username,
        display_name=request.display_name,
        case_number=request.case_number,
        reason=request.reason,
        since=request.since,
        until=request.until,
        asked_at=request.asked_at,
        expires_at=request.expires_at,
        relay_path=request.relay_path.split("/") if request.relay_path else [],
    )


# --- child side ---------------------------------------------------------------------------


class SearchRefusedError(Exception):
    """This node will not run the request; the message is the reason sent up."""


class SearchResponder:
    """Checks the requests the parent hands down, runs each on this node's store within
    what the asking user's scope covers here, audits it and builds the answer."""

    def __init__(
        self,
        *,
        db: Database,
        reads: EventReads,
        clock: Clock,
        identity: IdentityProtector | None,
        audit: Callable[[Session], AuditService],
        node_id: str,
        token: str,
    ) -> None:
        self._db = db
        self._reads = reads
        self._clock = clock
        self._identity = identity
        self._audit = audit
        self._node_id = node_id
        self._key = credential_key(hash_api_token(token))

    def answer_all(self, pending: PendingSearches) -> list[SearchAnswer]:
        """An answer (passages or a refusal) for every request that names itself; a
        request so garbled that it names no request id is logged and dropped."""
        answers = []
        for signed in pending.searches:
            answer = self.answer(signed)
            if answer is not None:
                answers.append(answer)
        return answers

    def answer(self, signed: SignedSearch) -> SearchAnswer | None:
        try:
            asked = ASKED_DECODER.decode(signed.body)
        except msgspec.DecodeError as exc:
            return self._unreadable(signed, exc)
        relayed: list[str] = []
        try:
            self._check(signed, asked)
            relayed = self._relay(asked)
            scope, devices = self._place(asked)
            passages = self._search(asked, scope, devices)
        except SearchRefusedError as exc:
            reason = str(exc)
            logger.warning("search request %s refused: %s", asked.request_id, reason)
            self._record(REFUSE, asked, None, refusal=reason)
            return SearchAnswer(
                node_id=self._node_id,
                request_id=asked.request_id,
                status="refused",
                refusal=reason,
                relayed=relayed,
            )
        return SearchAnswer(
            node_id=self._node_id,
            request_id=asked.request_id,
            status="answered",
            passages=passages,
            relayed=relayed,
        )

    def _unreadable(self, signed: SignedSearch, exc: msgspec.DecodeError) -> SearchAnswer | None:
        """A request this node cannot read (a required field left out, a value out of
        bounds): refused with the reason naming the field, so the parent shows why rather
        than a timeout, and audited with what the request says. One without a readable
        request id cannot be answered: logged and dropped."""
        try:
            raw = msgspec.msgpack.decode(signed.body)
        except msgspec.DecodeError:
            raw = None
        request_id = raw.get("request_id") if isinstance(raw, dict) else None
        if not isinstance(request_id, str) or not 0 < len(request_id) <= 64:
            logger.error("a search request from the parent is unreadable: %s", exc)
            return None
        assert isinstance(raw, dict)
        if hmac.compare_digest(signature(self._key, signed.body), signed.signature):
            reason = f"the request is unreadable here: {exc}"
        else:
            reason = (
                "the request's signature does not verify for this node's credential "
                "(forged or altered)"
            )
        logger.warning("search request %s refused: %s", request_id, reason)

        def text(key: str, limit: int) -> str | None:
            value = raw.get(key)
            return (value[:limit] or None) if isinstance(value, str) else None

        with self._db.session() as session:
            self._audit(session).record(
                CHILD_ACTOR,
                REFUSE,
                record_type=text("subject_kind", 16) or "unknown",
                record_ids=[],
                purpose=text("reason", 500),
                case_number=text("case_number", 64),
                details={
                    "request_id": request_id,
                    "parent_user_id": user_id
                    if isinstance(user_id := raw.get("user_id"), int)
                    else None,
                    "parent_username": text("username", 64),
                    "refusal": reason,
                },
            )
        return SearchAnswer(
            node_id=self._node_id,
            request_id=request_id,
            status="refused",
            refusal=reason[:500],
        )

    def _relay(self, asked: SearchAsked) -> list[str]:
        """Pass a checked request on to this node's own children whose jurisdiction the
        asker's scope covers: a request of this node's, linked to the parent's (same case,
        reason, subject, period and expiry; the asker at the top and the nodes it came
        through kept), which `SearchDelivery` signs for each child. Once per parent request
        (a request delivered again is not passed on again); none below the depth limit, and
        none to a node it already came through. Audited `cascade.search.relay`."""
        if self._identity is None or len(asked.relay_path) + 1 >= MAX_RELAY_DEPTH:
            return []
        path = [*asked.relay_path, self._node_id]
        with self._db.session() as session:
            done = session.scalars(
                select(CrossSearchRequest).where(
                    CrossSearchRequest.parent_request_id == asked.request_id
                )
            ).one_or_none()
            if done is not None:
                return sorted(
                    session.scalars(
                        select(CrossSearchAnswer.node_id).where(
                            CrossSearchAnswer.request_id == done.id,
                            CrossSearchAnswer.path == CrossSearchAnswer.node_id,
                        )
                    )
                )
            access = UserRepository(session)
            parents = access.jurisdiction_parents()
            if asked.jurisdiction_id is not None and asked.jurisdiction_id not in parents:
                return []  # the refusal follows from `_place`
            scope = JurisdictionScope.build(
                role=asked.role,
                jurisdiction_id=asked.jurisdiction_id,
                parents=parents,
                community_jurisdiction=access.community_jurisdictions(),
            )
            nodes = sorted(
                row.node_id
                for row in ChildDataRepository(session).children()
                if scope.contains(row.jurisdiction_id) and row.node_id not in path
            )
            if not nodes:
                return []
            kind, subject = _subject(asked.subject_kind, asked.subject)
            request_id = secrets.token_hex(16)
            session.add(
                CrossSearchRequest(
                    id=request_id,
                    user_id=asked.user_id,
                    username=asked.username,
                    display_name=asked.display_name,
                    role=asked.role,
                    jurisdiction_id=asked.jurisdiction_id,
                    case_number=asked.case_number,
                    reason=asked.reason,
                    subject_kind=kind,
                    subject_token=self._identity.token(kind, subject),
                    subject_masked=mask_plate(subject)
                    if kind == "plate"
                    else mask_id_number(subject),
                    subject_enc=self._identity.seal(*subject_context(request_id), subject),
                    since=asked.since,
                    until=asked.until,
                    target_node_id=None,
                    asked_at=self._clock.now(),
                    expires_at=asked.expires_at,
                    parent_request_id=asked.request_id,
                    relay_path="/".join(path),
                )
            )
            session.flush()
            for node_id in nodes:
                session.add(
                    CrossSearchAnswer(
                        request_id=request_id,
                        node_id=node_id,
                        status=PENDING,
                        refusal=None,
                        passages=0,
                        body=None,
                        delivered_at=None,
                        answered_at=None,
                        path=node_id,
                    )
                )
            session.flush()
        self._record(RELAY, asked, None, relay_request_id=request_id, nodes=nodes)
        return nodes

    def follow_ups(self) -> list[tuple[int, SearchAnswer]]:
        """The answers of this node's children (and the nodes below them) to the requests it
        passed on, not yet sent up: each as the answer of that node to the parent's request,
        through this node (the row id marks it sent with `sent_up`). A part still pending
        goes up when it is answered; one that times out, the parent times out itself. One
        the parent does not expect yet (404: this node's own answer naming the child has not
        reached it) is sent again at the next poll, until the request expires."""
        ups: list[tuple[int, SearchAnswer]] = []
        with self._db.session() as session:
            rows = session.execute(
                select(CrossSearchAnswer, CrossSearchRequest)
                .join(CrossSearchRequest, CrossSearchRequest.id == CrossSearchAnswer.request_id)
                .where(
                    CrossSearchRequest.parent_request_id.is_not(None),
                    CrossSearchAnswer.status != PENDING,
                    CrossSearchAnswer.sent_up_at.is_(None),
                    CrossSearchRequest.expires_at > self._clock.now(),
                )
                .order_by(CrossSearchAnswer.id)
            ).all()
            for row, request in rows:
                assert request.parent_request_id is not None
                path = (row.path or row.node_id).split("/")
                ups.append(
                    (
                        row.id,
                        SearchAnswer(
                            node_id=row.node_id,
                            request_id=request.parent_request_id,
                            status="refused" if row.status == REFUSED else "answered",
                            refusal=(row.refusal or "-") if row.status == REFUSED else "",
                            passages=_PASSAGES_JSON.decode(row.body) if row.body else [],
                            via=[self._node_id, *path[:-1]],
                            relayed=json.loads(row.relayed) if row.relayed else [],
                        ),
                    )
                )
        return ups

    def sent_up(self, row_id: int) -> None:
        """A follow-up the parent took (or will never take: 409): not sent again."""
        with self._db.session() as session:
            row = session.get(CrossSearchAnswer, row_id)
            if row is not None:
                row.sent_up_at = self._clock.now()

    def _check(self, signed: SignedSearch, asked: SearchAsked) -> None:
        if not hmac.compare_digest(signature(self._key, signed.body), signed.signature):
            raise SearchRefusedError(
                "the request's signature does not verify for this node's credential "
                "(forged or altered)"
            )
        if asked.node_id != self._node_id:
            raise SearchRefusedError(f"the request is for node '{asked.node_id}', not this one")
        if self._clock.now() >= asked.expires_at:
            raise SearchRefusedError(f"the request expired at {asked.expires_at.isoformat()}")
        if not asked.case_number.strip() or not asked.reason.strip():
            raise SearchRefusedError("the request has no case number or no reason")
        try:
            Purpose(asked.case_number, asked.reason).checked()
            _subject(asked.subject_kind, asked.subject)
            _check_period(asked.since, asked.until)
        except BadRequestError as exc:
            raise SearchRefusedError(f"{exc.field}: {exc}") from None
        if asked.role not in {role.value for role in Role}:
            raise SearchRefusedError(f"unknown role '{asked.role}'")

    def _place(self, asked: SearchAsked) -> tuple[JurisdictionScope, dict[str, str]]:
        """The asker's scope as this node's registry places it, and its devices (id → name);
        refused when the request's jurisdiction does not cover this node."""
        with self._db.session() as session:
            access = UserRepository(session)
            parents = access.jurisdiction_parents()
            if asked.jurisdiction_id is not None and asked.jurisdiction_id not in parents:
                raise SearchRefusedError(
                    f"jurisdiction '{asked.jurisdiction_id}' is not in this node's registry"
                )
            scope = JurisdictionScope.build(
                role=asked.role,
                jurisdiction_id=asked.jurisdiction_id,
                parents=parents,
                community_jurisdiction=access.community_jurisdictions(),
            )
            devices = {d.id: d.name for d in DeviceService(session).list_devices(scope=scope)}
        if not devices:
            raise SearchRefusedError(
                f"jurisdiction '{asked.jurisdiction_id}' does not cover this node's devices"
            )
        return scope, devices

    def _search(
        self, asked: SearchAsked, scope: JurisdictionScope, devices: dict[str, str]
    ) -> list[AnsweredPassage]:
        if self._identity is None:
            raise SearchRefusedError("this node has no key ring: its store cannot be searched")
        identity = self._identity
        found: list[AnsweredPassage] = []
        if asked.subject_kind == "plate":
            token = identity.token("plate", read_plate(asked.subject))
            for p in self._reads.plate_passages(token, asked.since, asked.until, MAX_PASSAGES):
                if p.device_id in devices:
                    found.append(_passage(p.time, "vehicle", p.device_id, devices,
                                          p.event_id, p.plate_masked))  # fmt: skip
        else:
            token = identity.token("id_number", normalise_id_number(asked.subject))
            keys = self._resident_keys(token)
            if keys:
                for s in self._reads.subject_passages(keys, asked.since, asked.until,
                                                      MAX_PASSAGES):  # fmt: skip
                    if s.device_id in devices:
                        found.append(_passage(s.time, s.type, s.device_id, devices, s.event_id,
                                              f"{s.subject_kind} {s.subject_masked}"))  # fmt: skip
        found.sort(key=lambda p: p.time)
        self._record(ANSWER, asked, token, passages=len(found), scope=scope.root)
        return found

    def _resident_keys(self, id_number_token: str) -> list[tuple[str, str]]:
        """The keys the store knows the residents of this ID number by (none registered
        here: no key, so nothing is found and nothing tells whether they live here)."""
        assert self._identity is not None
        keys: list[tuple[str, str]] = []
        with self._db.session() as session:
            for resident in session.scalars(
                select(Resident).where(Resident.id_number_token == id_number_token)
            ):
                keys.append(("resident", self._identity.token("subject", resident.id)))
                if resident.card_ref_token:
                    keys.append(("card", resident.card_ref_token))
        return keys

    def _record(self, action: str, asked: SearchAsked, token: str | None, **extra: Any) -> None:
        """The local audit entry: who at the parent asked, for which case, which subject
        (as this node's token), and what came of it."""
        details: dict[str, Any] = {
            "request_id": asked.request_id,
            "parent_user_id": asked.user_id,
            "parent_username": asked.username,
            "parent_display_name": asked.display_name,
            "parent_role": asked.role,
            "parent_jurisdiction_id": asked.jurisdiction_id,
            "since": asked.since.isoformat(),
            "until": asked.until.isoformat(),
            "relay_path": list(asked.relay_path),
            **extra,
        }
        with self._db.session() as session:
            self._audit(session).record(
                CHILD_ACTOR,
                action,
                record_type=asked.subject_kind,
                record_ids=[token] if token else [],
                purpose=asked.reason[:500] or None,
                case_number=asked.case_number[:64] or None,
                details=details,
            )


def _passage(
    time: datetime, kind: str, device_id: str, devices: dict[str, str], event_id: str, masked: str
) -> AnsweredPassage:
    return AnsweredPassage(
        time=time,
        type=kind,
        device_id=device_id,
        device_name=devices[device_id][:200],
        event_id=event_id[:128],
        subject_masked=masked[:80],
    )


def answer_json(answer: ChildAnswerRead) -> dict[str, Any]:
    """A child's part of a request as the JSON API shows it."""
    return {
        "node_id": answer.node_id,
        "path": answer.path or answer.node_id,
        "status": answer.status,
        "refusal": answer.refusal,
        "passages": answer.passages,
        "delivered_at": answer.delivered_at.isoformat() if answer.delivered_at else None,
        "answered_at": answer.answered_at.isoformat() if answer.answered_at else None,
        "rows": json.loads(msgspec.json.encode(answer.rows)) if answer.rows else [],
    }

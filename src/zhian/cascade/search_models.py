"""The tables of cross-node search (跨区域研判), parent side: what a parent user asked the
children for, and each child's answer (docs/cascade.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhian.db.base import Base, UtcDateTime


def subject_context(request_id: str) -> tuple[str, str, str]:
    """What a request's subject is sealed for (table, column, row) with the node's key ring."""
    return ("cascade_search_requests", "subject_enc", request_id)


class CrossSearchRequest(Base):
    """A parent user's request to child nodes for a subject's passages, for a case.

    The subject (a plate or an ID-card number) is kept sealed, as its keyed token (what the
    audit trail names) and masked; it travels in the clear to the children over their node
    credentials' links, as watchlist orders do, and each child tokenises it with its own keys.
    """

    __tablename__ = "cascade_search_requests"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    username: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    # The asking user's jurisdiction (None: unscoped): the children search only there.
    jurisdiction_id: Mapped[str | None] = mapped_column(String(64))
    case_number: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500))
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_token: Mapped[str] = mapped_column(String(64))
    subject_masked: Mapped[str] = mapped_column(String(64))
    subject_enc: Mapped[bytes] = mapped_column(LargeBinary)
    since: Mapped[datetime] = mapped_column(UtcDateTime)
    until: Mapped[datetime] = mapped_column(UtcDateTime)
    # The one child asked, or None: every child of the user's jurisdiction.
    target_node_id: Mapped[str | None] = mapped_column(String(64))
    asked_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Set when this node passed on its parent's request to its own children: the parent's
    # request id (one relay per request, never twice) and the nodes the request came down
    # through, top first, "/"-joined. The user fields then name the asker at the top.
    parent_request_id: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    relay_path: Mapped[str | None] = mapped_column(String(400))


class CrossSearchAnswer(Base):
    """One child's part of a request: pending until it answers (with its passages, masked)
    or refuses (with its reason); a pending one past the request's expiry has timed out."""

    __tablename__ = "cascade_search_answers"
    __table_args__ = (UniqueConstraint("request_id", "node_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("cascade_search_requests.id"), index=True
    )
    node_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))  # pending | answered | refused
    refusal: Mapped[str | None] = mapped_column(String(500))
    passages: Mapped[int] = mapped_column(Integer)
    # The passages as the child sent them (masked identifiers only), JSON.
    body: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The node path below this node, "/"-joined: the child itself, or the child and the
    # nodes below it that it passed the request on to (None: the child itself).
    path: Mapped[str | None] = mapped_column(String(400))
    # The nodes the child passed the request on to (JSON list of ids), announced with its
    # answer.
    relayed: Mapped[str | None] = mapped_column(Text)
    # For a relayed request: when this answer was sent on up to the parent.
    sent_up_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

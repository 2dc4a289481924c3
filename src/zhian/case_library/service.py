"""Writing, reading and searching the case library, and taking in entries a child shared.

An entry holds no personal data: every text is plain text (no markup or script), and an
identity, phone or plate number written into it is refused, naming the field, so nothing
personal is kept in the clear or sent upward. Links to alerts, an incident and cases are
checked in the author's scope. Nothing commits here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.case_library.models import CaseStudy
from zhian.case_library.repository import CaseStudyRepository
from zhian.case_library.schemas import (
    CATEGORIES,
    MAX_TAG_CHARS,
    MAX_TAGS,
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    CaseStudyFilter,
    CaseStudyRead,
    CaseStudyWrite,
)
from zhian.errors import BadRequestError, ForbiddenError, NotFoundError
from zhian.kit.clock import Clock
from zhian.tips.service import plain_text, without_identifiers

# A tag is one word: letters (any script), digits, `-` and `_`.
_TAG = re.compile(r"^[\w-]+$")
SEARCH_LIMIT = 200


class LinkChecker(Protocol):
    """Whether the records an entry links to exist in the author's scope."""

    def has_alert(self, alert_id: int) -> bool: ...

    def has_incident(self, incident_id: int) -> bool: ...

    def has_case(self, case_id: str) -> bool: ...


@dataclass(frozen=True)
class ReceivedStudy:
    """An entry as a child node sends it up (the cascade's wire form, decoded)."""

    origin_node: str
    origin_id: int
    is_shared: bool
    title: str
    category: str
    summary: str
    what_happened: str
    what_worked: str
    lessons: str
    tags: tuple[str, ...]
    occurred_at: datetime
    jurisdiction_id: str
    incident_id: int | None
    alert_ids: tuple[int, ...]
    case_ids: tuple[str, ...]
    created_at: datetime
    updated_at: datetime


def _read(entry: CaseStudy) -> CaseStudyRead:
    return CaseStudyRead.model_validate(
        {
            **{column: getattr(entry, column) for column in CaseStudyRead.model_fields},
            "tags": [tag for tag in entry.tags.split(",") if tag],
        }
    )


def checked_text(value: str, field: str, *, max_chars: int, required: bool) -> str:
    """Plain text within `max_chars`, with no identifier in clear (400 naming `field`)."""
    return without_identifiers(
        plain_text(value, field, max_chars=max_chars, required=required),
        field,
        why="a case library entry carries no personal data, write it without",
    )


def checked_tags(tags: list[str]) -> list[str]:
    """Tags as stored: trimmed, lower case, each once, in the order given."""
    kept: list[str] = []
    for tag in tags:
        tag = tag.strip().lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG_CHARS or not _TAG.match(tag):
            raise BadRequestError(
                f"tag '{tag[:40]}' must be one word of at most {MAX_TAG_CHARS} letters, "
                "digits, '-' or '_'",
                field="tags",
            )
        checked_text(tag, "tags", max_chars=MAX_TAG_CHARS, required=True)
        if tag not in kept:
            kept.append(tag)
    if len(kept) > MAX_TAGS:
        raise BadRequestError(f"at most {MAX_TAGS} tags", field="tags")
    return kept


class CaseLibraryService:
    """The case library of the user's scope: write, edit, read, search."""

    def __init__(self, session: Session, *, clock: Clock, scope: JurisdictionScope) -> None:
        self.repository = CaseStudyRepository(session)
        self.clock = clock
        self.scope = scope

    # --- reading ----------------------------------------------------------------------------

    def get(self, entry_id: int) -> CaseStudyRead:
        entry = self.repository.get(entry_id, scope=self.scope)
        if entry is None or _is_withdrawn(entry):
            raise NotFoundError(f"no case library entry {entry_id} in your jurisdiction",
                                field="study_id")  # fmt: skip
        return _read(entry)

    def search(self, filters: CaseStudyFilter) -> list[CaseStudyRead]:
        if filters.category and filters.category not in CATEGORIES:
            raise BadRequestError(
                f"category must be one of {', '.join(CATEGORIES)}", field="category"
            )
        found = self.repository.search(filters, scope=self.scope, limit=SEARCH_LIMIT)
        return [_read(entry) for entry in found if not _is_withdrawn(entry)]

    def tags(self) -> list[str]:
        return self.repository.tags(scope=self.scope)

    # --- writing ----------------------------------------------------------------------------

    def create(self, data: CaseStudyWrite, *, user_id: int, links: LinkChecker) -> CaseStudyRead:
        now = self.clock.now()
        entry = CaseStudy(author_id=user_id, created_at=now)
        self._fill(entry, data, links, now)
        self.repository.add(entry)
        return _read(entry)

    def update(
        self, entry_id: int, data: CaseStudyWrite, *, user_id: int, links: LinkChecker
    ) -> CaseStudyRead:
        entry = self.repository.get(entry_id, scope=self.scope)
        if entry is None or _is_withdrawn(entry):
            raise NotFoundError(f"no case library entry {entry_id} in your jurisdiction",
                                field="study_id")  # fmt: skip
        if entry.origin_node is not None:
            raise ForbiddenError(
                f"this entry was written at node '{entry.origin_node}': change it there",
                field="study_id",
            )
        was_shared = entry.is_shared
        self._fill(entry, data, links, self.clock.now(), was_shared=was_shared)
        self.repository.add(entry)
        return _read(entry)

    def _fill(
        self,
        entry: CaseStudy,
        data: CaseStudyWrite,
        links: LinkChecker,
        now: datetime,
        *,
        was_shared: bool = False,
    ) -> None:
        if data.category not in CATEGORIES:
            raise BadRequestError(
                f"category must be one of {', '.join(CATEGORIES)}", field="category"
            )
        texts = {
            "title": checked_text(data.title, "title", max_chars=MAX_TITLE_CHARS, required=True),
            "summary": checked_text(
                data.summary, "summary", max_chars=MAX_TEXT_CHARS, required=True
            ),
            "what_happened": checked_text(
                data.what_happened, "what_happened", max_chars=MAX_TEXT_CHARS, required=False
            ),
            "what_worked": checked_text(
                data.what_worked, "what_worked", max_chars=MAX_TEXT_CHARS, required=False
            ),
            "lessons": checked_text(
                data.lessons, "lessons", max_chars=MAX_TEXT_CHARS, required=True
            ),
        }
        tags = checked_tags(data.tags)
        occurred_at = data.occurred_at
        if occurred_at.tzinfo is None:
            raise BadRequestError("occurred_at needs a time zone", field="occurred_at")
        if occurred_at > now:
            raise BadRequestError("occurred_at is in the future", field="occurred_at")
        jurisdiction_id = data.jurisdiction_id or self.scope.root
        if jurisdiction_id is None:
            raise BadRequestError("name the jurisdiction the entry belongs to",
                                  field="jurisdiction_id")  # fmt: skip
        if not self.scope.contains(jurisdiction_id):
            raise BadRequestError(
                f"jurisdiction '{jurisdiction_id}' is outside yours", field="jurisdiction_id"
            )
        for alert_id in data.alert_ids:
            if not links.has_alert(alert_id):
                raise BadRequestError(f"no alert {alert_id} in your jurisdiction",
                                      field="alert_ids")  # fmt: skip
        if data.incident_id is not None and not links.has_incident(data.incident_id):
            raise BadRequestError(f"no incident {data.incident_id} in your jurisdiction",
                                  field="incident_id")  # fmt: skip
        case_ids = [case_id.strip() for case_id in data.case_ids if case_id.strip()]
        for case_id in case_ids:
            if not links.has_case(case_id):
                raise BadRequestError(f"no case '{case_id[:64]}' in your jurisdiction",
                                      field="case_ids")  # fmt: skip
        for name, value in texts.items():
            setattr(entry, name, value)
        entry.category = data.category
        entry.tags = "," + "".join(f"{tag}," for tag in tags)
        entry.occurred_at = occurred_at
        entry.jurisdiction_id = jurisdiction_id
        entry.incident_id = data.incident_id
        entry.alert_ids = sorted(set(data.alert_ids))
        entry.case_ids = sorted(set(case_ids))
        entry.is_shared = data.is_shared
        entry.updated_at = now
        if data.is_shared or was_shared:  # the parent learns of the change, or the withdrawal
            entry.share_seq = self.repository.next_share_seq()

    # --- the cascade ------------------------------------------------------------------------

    def shared_after(self, share_seq: int, limit: int) -> list[tuple[int, CaseStudyRead]]:
        """(share_seq, entry) of the entries to send up since `share_seq`, in order; an
        entry no longer shared goes too, so the parent withdraws it."""
        return [
            (int(entry.share_seq or 0), _read(entry))
            for entry in self.repository.shared_after(share_seq, limit)
        ]

    def receive(self, study: ReceivedStudy) -> None:
        """Keep (or change, or withdraw) an entry a child node shared, under its jurisdiction;
        it goes further up with the same origin."""
        entry = self.repository.received(study.origin_node, study.origin_id)
        if entry is None:
            if not study.is_shared:
                return  # withdrawn before it ever arrived
            entry = CaseStudy(origin_node=study.origin_node, origin_id=study.origin_id)
        entry.is_shared = study.is_shared
        entry.title = study.title
        entry.category = study.category
        entry.summary = study.summary
        entry.what_happened = study.what_happened
        entry.what_worked = study.what_worked
        entry.lessons = study.lessons
        entry.tags = "," + "".join(f"{tag}," for tag in study.tags)
        entry.occurred_at = study.occurred_at
        entry.jurisdiction_id = study.jurisdiction_id
        entry.incident_id = study.incident_id
        entry.alert_ids = list(study.alert_ids)
        entry.case_ids = list(study.case_ids)
        entry.created_at = study.created_at
        entry.updated_at = study.updated_at
        entry.share_seq = self.repository.next_share_seq()
        self.repository.add(entry)


def _is_withdrawn(entry: CaseStudy) -> bool:
    """A received entry its node no longer shares: kept (to relay the withdrawal), not shown."""
    return entry.origin_node is not None and not entry.is_shared

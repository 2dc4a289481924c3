"""Case library entries on the cascade (案例库向上共享): the child sends the entries marked
shared (and those no longer shared, so the parent withdraws them) in the order they
changed; the parent keeps them under the child's jurisdiction, read-only, and relays them
further up with their origin. Idempotent: an entry is one row per (origin node, id).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.cascade.wire import CaseStudyItem
from zhian.case_library.schemas import CATEGORIES, MAX_TEXT_CHARS, MAX_TITLE_CHARS
from zhian.case_library.service import (
    CaseLibraryService,
    ReceivedStudy,
    checked_tags,
    checked_text,
)
from zhian.errors import BadRequestError, ForbiddenError, ZhianError
from zhian.kit.clock import Clock

CASE_STUDIES = "case_studies"  # the forwarder's position: the last share_seq acknowledged


def shared_case_studies(
    session: Session, clock: Clock, after: int, limit: int
) -> list[CaseStudyItem]:
    """The entries to send up after position `after`, in the order they changed."""
    library = CaseLibraryService(session, clock=clock, scope=JurisdictionScope.unscoped())
    return [
        CaseStudyItem(
            origin_id=entry.origin_id if entry.origin_id is not None else entry.id,
            share_seq=seq,
            is_shared=entry.is_shared,
            title=entry.title,
            category=entry.category,
            summary=entry.summary,
            what_happened=entry.what_happened,
            what_worked=entry.what_worked,
            lessons=entry.lessons,
            tags=list(entry.tags),
            occurred_at=entry.occurred_at,
            jurisdiction_id=entry.jurisdiction_id,
            incident_id=entry.incident_id,
            alert_ids=list(entry.alert_ids),
            case_ids=list(entry.case_ids),
            created_at=entry.created_at,
            updated_at=entry.updated_at,
            origin_node=entry.origin_node,
        )
        for seq, entry in library.shared_after(after, limit)
    ]


def check_case_studies(items: list[CaseStudyItem], scope: JurisdictionScope) -> None:
    """Every entry must lie in the credential's scope (403) and hold plain text without
    personal data (400), naming the item; checked before anything of the batch is kept."""
    for index, item in enumerate(items):
        where = f"case_studies[{index}]"
        if not scope.contains(item.jurisdiction_id):
            raise ForbiddenError(
                f"case library entry {item.origin_id} belongs to jurisdiction "
                f"'{item.jurisdiction_id}', outside this node credential's",
                field=f"{where}.jurisdiction_id",
            )
        if item.category not in CATEGORIES:
            raise BadRequestError(f"unknown category '{item.category}'",
                                  field=f"{where}.category")  # fmt: skip
        try:
            checked_text(item.title, "title", max_chars=MAX_TITLE_CHARS, required=True)
            for name in ("summary", "what_happened", "what_worked", "lessons"):
                checked_text(getattr(item, name), name, max_chars=MAX_TEXT_CHARS, required=False)
            checked_tags(item.tags)
        except ZhianError as error:
            raise BadRequestError(error.message, field=f"{where}.{error.field}") from None


def receive_case_studies(
    session: Session, clock: Clock, node_id: str, items: list[CaseStudyItem]
) -> int:
    """Keep a child's entries (checked with `check_case_studies` first); returns how many."""
    library = CaseLibraryService(session, clock=clock, scope=JurisdictionScope.unscoped())
    for item in items:
        library.receive(
            ReceivedStudy(
                origin_node=item.origin_node or node_id,
                origin_id=item.origin_id,
                is_shared=item.is_shared,
                title=item.title,
                category=item.category,
                summary=item.summary,
                what_happened=item.what_happened,
                what_worked=item.what_worked,
                lessons=item.lessons,
                tags=tuple(item.tags),
                occurred_at=item.occurred_at,
                jurisdiction_id=item.jurisdiction_id,
                incident_id=item.incident_id,
                alert_ids=tuple(item.alert_ids),
                case_ids=tuple(item.case_ids),
                created_at=item.created_at,
                updated_at=item.updated_at,
            )
        )
    return len(items)

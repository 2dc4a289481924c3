"""Passage records (门禁/过车/人脸) as JSON: the passages page's search for programs.

`GET /api/v1/passages` narrows by community, device, window, direction and type; `POST`
takes the same fields in a body and may also narrow by a plate or a person, which never
sit in a URL. Both need `passages.view` and search only the devices of the user's
jurisdiction; a search by plate or person is a trajectory and needs a case number of the
user's jurisdiction and a reason, audited (`passages.subject_search`) as on the page, a
refusal too. The rules are the page's own (`zhian.web.passage_views.parse_query`);
identifiers come back masked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from zhian.store.passages import MAX_PAGE_ROWS, PassageRecord
from zhian.web.auth import current_user
from zhian.web.layout import PageDep
from zhian.web.openapi_errors import error_responses
from zhian.web.passage_views import audit_subject_search, parse_query

router = APIRouter(
    prefix="/api/v1",
    tags=["passages"],
    dependencies=[Depends(current_user)],
    responses=error_responses(400, 401, 403, 404),
)

PassageKind = Literal["access", "vehicle", "face"]


class PassageSearch(BaseModel):
    """Where, when and (optionally) whom: a plate or a person needs a case number and a
    reason. Times without a zone are the node's local time; the window is at most 92 days
    (default: the last 24 hours)."""

    model_config = ConfigDict(extra="forbid")

    community_id: str | None = Field(default=None, max_length=64)
    device_id: str | None = Field(default=None, max_length=64)
    since: datetime | None = None
    until: datetime | None = None
    direction: Literal["in", "out"] | None = None
    types: list[PassageKind] = Field(default_factory=list, description="Empty: every type.")
    plate: str | None = Field(default=None, max_length=16)
    near: bool = Field(default=False, description="Also the plate's one-character misreads.")
    resident_id: str | None = Field(default=None, max_length=64)
    case_number: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, max_length=500)
    offset: int = Field(default=0, ge=0, le=1_000_000)
    limit: int = Field(default=50, ge=1, le=MAX_PAGE_ROWS - 1)


def _answer(page: PageDep, body: PassageSearch) -> dict[str, Any]:
    fields = body.model_dump(exclude={"types", "near", "offset", "limit", "since", "until"})
    form = {name: value or "" for name, value in fields.items()}
    form["since"] = body.since.isoformat() if body.since else ""
    form["until"] = body.until.isoformat() if body.until else ""
    form["offset"] = str(body.offset)
    form["near"] = "1" if body.near else ""
    # One row more than asked: whether there is a next page.
    query = parse_query(page, form, list(body.types), limit=body.limit + 1)
    records = page.node.event_reads.passages(query.search)
    shown = records[: body.limit]
    audit_subject_search(page, query, len(shown))
    return {
        "since": query.search.since.isoformat(),
        "until": query.search.until.isoformat(),
        "offset": body.offset,
        "limit": body.limit,
        "has_more": len(records) > body.limit,
        "passages": [_row(record) for record in shown],
    }


def _row(record: PassageRecord) -> dict[str, Any]:
    return {
        "type": record.type,
        "time": record.time.isoformat(),
        "device_id": record.device_id,
        "event_id": record.event_id,
        "direction": record.direction,
        "subject_masked": record.subject,
        "detail": record.detail,
        "has_image": record.has_image,
    }


@router.get("/passages", summary="Passages at your jurisdiction's devices, newest first")
def list_passages(
    page: PageDep,
    community_id: str | None = Query(default=None, max_length=64),
    device_id: str | None = Query(default=None, max_length=64),
    since: datetime | None = None,
    until: datetime | None = None,
    direction: Literal["in", "out"] | None = None,
    types: list[PassageKind] = Query(default_factory=list),
    offset: int = Query(default=0, ge=0, le=1_000_000),
    limit: int = Query(default=50, ge=1, le=MAX_PAGE_ROWS - 1),
) -> dict[str, Any]:
    """Door, vehicle and face passages by community, device, window, direction and type;
    subjects masked. A search by plate or person is `POST` (it never sits in a URL)."""
    body = PassageSearch(
        community_id=community_id, device_id=device_id, since=since, until=until,
        direction=direction, types=types, offset=offset, limit=limit,
    )  # fmt: skip
    return _answer(page, body)


@router.post("/passages", summary="Passages, also by a plate or a person (with a case)")
def search_passages(page: PageDep, body: PassageSearch) -> dict[str, Any]:
    """As `GET`, and by `plate` (with `near`: its one-character misreads) or `resident_id`:
    such a search needs `case_number` (of your jurisdiction) and `reason`, and is audited."""
    return _answer(page, body)

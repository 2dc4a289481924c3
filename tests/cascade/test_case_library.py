"""Case library entries shared upward (案例库向上共享): an entry the child marks shared
reaches the parent once, readable there under the child's jurisdiction only; withdrawn at
the child, it is withdrawn above; a batch with personal data or outside the credential is
refused whole, naming the item."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from fastapi.testclient import TestClient

from tests.cascade.parents import (
    CHILD_ID,
    PASSWORD,
    FaultyLink,
    drain,
    forwarder,
    parent_settings,
)
from tests.cascade.test_three_levels import links, tree  # noqa: F401 - the fixtures
from tests.web.session import sign_in
from zhian.access.scope import JurisdictionScope
from zhian.cascade.forwarder import UpwardForwarder
from zhian.cascade.wire import CONTENT_TYPE, ENCODER, CaseStudyItem, ChildBatch
from zhian.case_library.schemas import CaseStudyFilter, CaseStudyWrite
from zhian.case_library.service import CaseLibraryService
from zhian.kit.clock import ManualClock
from zhian.node import Node


class NoLinks:
    def has_alert(self, alert_id: int) -> bool:
        return False

    def has_incident(self, incident_id: int) -> bool:
        return False

    def has_case(self, case_id: str) -> bool:
        return False


def write(child: Node, clock: ManualClock, title: str, *, shared: bool, entry_id: int = 0) -> int:
    data = CaseStudyWrite(
        title=title,
        category="theft",
        summary="连续三晚同一楼栋门禁被尾随进入，排查后抓获。",
        lessons="夜间门禁尾随应设联动抓拍提示。",
        tags=["尾随", "门禁"],
        occurred_at=clock.now() - timedelta(days=1),
        is_shared=shared,
    )
    with child.db.session() as session:
        library = CaseLibraryService(
            session,
            clock=clock,
            scope=JurisdictionScope(
                root="J-STATION",
                jurisdiction_ids=frozenset({"J-STATION"}),
                community_ids=frozenset({"C1"}),
            ),
        )
        if entry_id:
            return library.update(entry_id, data, user_id=1, links=NoLinks()).id
        return library.create(data, user_id=1, links=NoLinks()).id


def parent_titles(parent: Node) -> list[tuple[str, str | None, str]]:
    with parent.db.session() as session:
        library = CaseLibraryService(
            session, clock=parent.clock, scope=JurisdictionScope.unscoped()
        )
        return [
            (entry.title, entry.origin_node, entry.jurisdiction_id)
            for entry in library.search(CaseStudyFilter())
        ]


def test_a_shared_entry_reaches_the_parent_once_and_is_read_there_by_scope(
    parent: Node,
    parent_client: TestClient,
    child: Node,
    credential: str,
    clock: ManualClock,
) -> None:
    link = FaultyLink(parent_client)
    shared = write(child, clock, "门禁尾随盗窃的发现与处置", shared=True)
    write(child, clock, "本地草稿", shared=False)
    forward = forwarder(child, link, parent_settings(credential, events="none"))
    drain(forward)
    assert parent_titles(parent) == [("门禁尾随盗窃的发现与处置", CHILD_ID, "J-STATION")]

    # Changed at the child, sent again after a lost answer: one entry, the new text.
    write(child, clock, "门禁尾随盗窃（修订）", shared=True, entry_id=shared)
    link.lose_answers = 1
    drain(forward)
    assert parent_titles(parent) == [("门禁尾随盗窃（修订）", CHILD_ID, "J-STATION")]

    # The city's command centre reads it on the library page, marked as the child's and
    # read-only; another station's officer does not see it.
    sign_in(parent_client, "command", PASSWORD)
    listing = parent_client.get("/library")
    assert listing.status_code == 200
    assert (
        "门禁尾随盗窃（修订）" in listing.text and f'data-origin-node="{CHILD_ID}"' in listing.text
    )
    entry_id = int(listing.text.split('data-entry-id="')[1].split('"')[0])
    page = parent_client.get(f"/library/{entry_id}")
    assert page.status_code == 200 and 'id="entry-edit"' not in page.text
    assert parent_client.get(f"/library/{entry_id}/edit").status_code == 403
    refused = parent_client.post(
        f"/library/{entry_id}",
        data={
            "title": "x",
            "category": "theft",
            "summary": "x",
            "lessons": "x",
            "occurred_at": "2026-01-01T00:00",
        },
    )
    assert refused.status_code == 403  # an entry is changed where it was written
    sign_in(parent_client, "outsider", PASSWORD)
    assert "门禁尾随盗窃" not in parent_client.get("/library").text
    assert parent_client.get(f"/library/{entry_id}").status_code == 404

    # No longer shared at the child: withdrawn at the parent.
    write(child, clock, "门禁尾随盗窃（修订）", shared=False, entry_id=shared)
    drain(forward)
    assert parent_titles(parent) == []


def _item(**changes: object) -> CaseStudyItem:
    at = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    values: dict[str, object] = {
        "origin_id": 7,
        "share_seq": 1,
        "is_shared": True,
        "title": "一条案例",
        "category": "fire",
        "summary": "摘要",
        "what_happened": "",
        "what_worked": "",
        "lessons": "教训",
        "tags": ["消防"],
        "occurred_at": at,
        "jurisdiction_id": "J-STATION",
        "incident_id": None,
        "alert_ids": [],
        "case_ids": [],
        "created_at": at,
        "updated_at": at,
    }
    values.update(changes)
    return CaseStudyItem(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("item", "status", "field"),
    [
        (_item(lessons="回访 13812345678"), 400, "case_studies[0].lessons"),
        (_item(title="<b>x</b>"), 400, "case_studies[0].title"),
        (_item(jurisdiction_id="J-OTHER"), 403, "case_studies[0].jurisdiction_id"),
    ],
)
def test_a_batch_with_personal_data_or_outside_the_credential_is_refused(
    parent: Node,
    parent_client: TestClient,
    credential: str,
    item: CaseStudyItem,
    status: int,
    field: str,
) -> None:
    batch = ChildBatch(
        node_id=CHILD_ID, sent_at=datetime(2026, 11, 20, 1, 0, tzinfo=UTC), case_studies=[item]
    )
    response = parent_client.post(
        "/api/v1/cascade/batches",
        content=ENCODER.encode(batch),
        headers={"Authorization": f"Bearer {credential}", "Content-Type": CONTENT_TYPE},
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["field"] == field
    assert parent_titles(parent) == []
    assert msgspec.msgpack.decode(ENCODER.encode(batch), type=ChildBatch).case_studies


def test_a_shared_entry_is_relayed_to_the_city_with_the_node_it_was_written_at(
    tree: tuple[Node, Node, Node],  # noqa: F811 - the fixture imported above
    links: tuple[UpwardForwarder, UpwardForwarder, TestClient],  # noqa: F811
    clock: ManualClock,
) -> None:
    city, district, community = tree
    up_district, up_city, _city_client = links
    shared = write(community, clock, "门禁尾随盗窃的发现与处置", shared=True)
    drain(up_district)
    drain(up_city)
    expected = [("门禁尾随盗窃的发现与处置", CHILD_ID, "J-STATION")]
    assert parent_titles(district) == expected
    assert parent_titles(city) == expected  # relayed, still naming the community
    # Changed at the community: the change goes up both levels, one copy at each.
    write(community, clock, "门禁尾随盗窃（修订）", shared=True, entry_id=shared)
    drain(up_district)
    drain(up_city)
    assert parent_titles(city) == [("门禁尾随盗窃（修订）", CHILD_ID, "J-STATION")]

    write(community, clock, "门禁尾随盗窃（修订）", shared=False, entry_id=shared)
    drain(up_district)
    drain(up_city)
    assert parent_titles(district) == [] and parent_titles(city) == []

"""Cross-node search (跨区域研判): a district user with a case asks the community for a
plate's passages; the community checks the request, searches its own store, audits it and
answers; the district keeps the answer per child and audits the ask and every read. A
request without a case, a user outside the child's jurisdiction, a request altered on the
way and one delivered after its expiry are each refused."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from fastapi.testclient import TestClient

from tests.cascade.parents import (
    CHILD_ID,
    PASSWORD,
    FaultyLink,
    add_user,
    drain,
    issue_token,
    open_child,
    open_parent,
    parent_settings,
)
from tests.governance.factories import LI_ID, ZHANG_ID
from tests.web.session import sign_in
from zhian.access.service import hash_api_token
from zhian.audit.service import AuditEntryRead
from zhian.cascade.forwarder import UpwardForwarder
from zhian.cascade.search_requests import (
    ASKED_DECODER,
    ENCODER,
    PENDING_DECODER,
    PendingSearches,
    SearchAnswer,
    SearchResponder,
    SignedSearch,
    credential_key,
    signature,
)
from zhian.cascade.settings import ParentSettings
from zhian.kit.clock import ManualClock
from zhian.node import Node
from zhian.registry.service import RegistryService
from zhian.web.app import create_app

PLATE, OTHER_PLATE = "浙A12345", "浙B54321"
CASE = "A-2026-0042"
REASON = "车辆被盗，跨区追查去向"
CHILD_DEVICES = ("CAM1", "DOOR1", "CNT1")
CARD = "CARD-7788"


@dataclass
class TamperingLink(FaultyLink):
    """The link, with a hand on the search requests going down: `alter` rewrites each
    request's bytes (keeping the parent's signature); `hold` keeps the requests back (the
    child hears of none) until `release`, which delivers what was held, however late;
    `newer` plays a parent one version ahead: fields this version does not know are added
    to each request and to the list, signed again with the credential's key `key`;
    `leave_out` plays a parent that sends a request without these fields, signed likewise."""

    alter: dict[str, Any] = field(default_factory=dict)
    newer: dict[str, Any] = field(default_factory=dict)
    leave_out: list[str] = field(default_factory=list)
    key: bytes = b""
    hold: bool = False
    held: list[bytes] = field(default_factory=list)
    release: bool = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.release and request.url.path.endswith("/search-requests") and self.held:
            return httpx.Response(200, content=self.held.pop(0))
        answer = super().__call__(request)
        if not request.url.path.endswith("/search-requests") or answer.status_code != 200:
            return answer
        if self.hold:
            self.held.append(answer.content)
            return httpx.Response(200, content=ENCODER.encode(PendingSearches(CHILD_ID, [])))
        if self.alter:
            pending = PENDING_DECODER.decode(answer.content)
            searches = [
                SignedSearch(
                    ENCODER.encode(msgspec.structs.replace(
                        ASKED_DECODER.decode(s.body), **self.alter)),
                    s.signature,
                )
                for s in pending.searches
            ]  # fmt: skip
            return httpx.Response(200, content=ENCODER.encode(PendingSearches(CHILD_ID, searches)))
        if self.newer or self.leave_out:
            listed = msgspec.msgpack.decode(answer.content)
            for search in listed["searches"]:
                body = {**msgspec.msgpack.decode(search["body"]), **self.newer}
                for key in self.leave_out:
                    body.pop(key, None)
                search["body"] = msgspec.msgpack.encode(body)
                search["signature"] = signature(self.key, search["body"])
                search |= self.newer
            listed |= self.newer
            return httpx.Response(200, content=msgspec.msgpack.encode(listed))
        return answer


@dataclass
class Tree:
    parent: Node
    child: Node
    client: TestClient  # the parent's API, for its users
    link: TamperingLink
    forward: UpwardForwarder
    clock: ManualClock
    tokens: dict[str, str]
    credential: str  # the child's node credential

    def as_user(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def ask(self, username: str = "station", **changes: Any) -> httpx.Response:
        now = self.clock.now()
        body: dict[str, Any] = {
            "plate": PLATE,
            "case_number": CASE,
            "reason": REASON,
            "since": (now - timedelta(days=1)).isoformat(),
            "until": now.isoformat(),
            "node_id": CHILD_ID,
        }
        body.update(changes)
        body = {k: v for k, v in body.items() if v is not None}
        return self.client.post(
            "/api/v1/cascade/searches", json=body, headers=self.as_user(username)
        )

    def answer_round(self) -> None:
        """The child's next poll: it fetches the requests and answers them."""
        self.clock.advance(timedelta(seconds=11))
        drain(self.forward)

    def read(self, request_id: str, username: str = "station") -> httpx.Response:
        return self.client.get(
            f"/api/v1/cascade/searches/{request_id}", headers=self.as_user(username)
        )


def responder(child: Node, settings: ParentSettings) -> SearchResponder:
    return SearchResponder(
        db=child.db,
        reads=child.event_reads,
        clock=child.clock,
        identity=child.governance.sealer,
        audit=child.governance.audit,
        node_id=settings.node_id,
        token=settings.token.get_secret_value(),
    )


def vehicle(event_id: str, device: str, plate: str, when: Any) -> bytes:
    return json.dumps({
        "type": "vehicle", "id": event_id, "device_id": device, "time": when.isoformat(),
        "plate": plate, "plate_color": "blue", "vehicle_class": "car", "direction": "in",
    }).encode()  # fmt: skip


def door(event_id: str, kind: str, ref: str, when: Any) -> bytes:
    return json.dumps({
        "type": "access", "id": event_id, "device_id": "DOOR1", "time": when.isoformat(),
        "subject": {"kind": kind, "ref": ref}, "direction": "in", "method": "card",
        "result": "granted",
    }).encode()  # fmt: skip


def audit(node: Node, action: str) -> list[AuditEntryRead]:
    with node.db.session() as session:
        return node.governance.audit(session).search(action=action)


@pytest.fixture
def tree(tmp_path: Path, clock: ManualClock) -> Iterator[Tree]:
    parent = open_parent(tmp_path / "district", clock)
    child = open_child(tmp_path / "community", clock)
    add_user(parent, clock, "installer", "integrator", "J-STATION")
    add_user(parent, clock, "station", "station_officer", "J-STATION")
    add_user(parent, clock, "outsider", "station_officer", "J-OTHER")
    add_user(parent, clock, "grid", "grid_worker", "J-STATION")
    tokens = {name: issue_token(parent, clock, name) for name in ("station", "outsider", "grid")}
    credential = issue_token(
        parent, clock, "installer", permissions=("cascade.forward",), name=CHILD_ID
    )
    # The child also serves a community of the station beside (J-OTHER): its camera is
    # outside the asking station officer's scope, and its passage must not come back.
    with child.db.session() as session:
        registry = RegistryService(session, identity=child.governance.sealer)
        for entity, rows in (
            ("jurisdictions", [{"id": "J-OTHER", "parent_id": "J-CITY", "level": "station",
                                "name": "南站"}]),
            ("communities", [{"id": "C2", "jurisdiction_id": "J-OTHER", "name": "南苑",
                              "kind": "gated", "latitude": 30.0, "longitude": 120.15}]),
            ("devices", [{"id": "CAM9", "kind": "vehicle_gate", "name": "南苑卡口",
                          "community_id": "C2", "latitude": 30.0, "longitude": 120.15,
                          "is_enabled": True}]),
        ):  # fmt: skip
            report = registry.load_rows(entity, rows)
            assert report.rejected == 0, report.errors
    child.refresh_directory()
    # The plate at the community's three devices, an hour apart, and once at the other
    # station's camera; another plate once.
    now = clock.now()
    raw = [vehicle(f"p{i}", d, PLATE, now - timedelta(hours=3 - i))
           for i, d in enumerate(CHILD_DEVICES)]  # fmt: skip
    raw.append(vehicle("o1", "CAM1", OTHER_PLATE, now - timedelta(hours=2)))
    raw.append(vehicle("s1", "CAM9", PLATE, now - timedelta(minutes=30)))
    result = child.intake.submit_raw(
        raw, source="native", sender_id=None, content_type="application/json"
    )
    assert result.accepted == 5, result.items
    assert child.feeder.wait_caught_up(30)
    with TestClient(create_app(parent)) as client:
        station = {"Authorization": f"Bearer {tokens['station']}"}
        case = client.post("/api/v1/cases", headers=station,
                           json={"id": CASE, "category": "vehicle_theft",
                                 "time_from": (now - timedelta(hours=5)).isoformat(),
                                 "latitude": 30.27, "longitude": 120.15,
                                 "jurisdiction_id": "J-STATION"})  # fmt: skip
        assert case.status_code == 201, case.text
        link = TamperingLink(client)
        # No events up: the passages the parent sees come from the child's answer alone.
        settings = parent_settings(credential, events="none")
        forward = UpwardForwarder(
            db=child.db,
            log=child.log,
            images=child.images,
            clock=child.clock,
            settings=settings,
            alert_settings=child.settings.alerts,
            workspace=child.settings.workspace,
            log_dir=child.settings.log_dir,
            identity=child.governance.sealer,
            transport=link.transport,
            draw=lambda: 0.0,
            searches=responder(child, settings),
        )
        drain(forward)  # registers: the parent knows the child and its jurisdiction
        yield Tree(parent, child, client, link, forward, clock, tokens, credential)
        forward.stop()
    child.close()
    parent.close()


def test_a_request_with_a_case_gets_the_childs_passages_and_both_sides_audit_it(
    tree: Tree,
) -> None:
    asked = tree.ask()
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert request["subject_masked"] == "浙A***45" and PLATE not in asked.text
    assert [(a["node_id"], a["status"]) for a in request["answers"]] == [(CHILD_ID, "pending")]

    tree.answer_round()

    read = tree.read(request["id"])
    assert read.status_code == 200, read.text
    [answer] = read.json()["answers"]
    assert answer["status"] == "answered" and answer["passages"] == 3
    # In time order, and only at the child's devices in the asker's scope (not CAM9).
    assert [row["device_id"] for row in answer["rows"]] == list(CHILD_DEVICES)
    assert {row["subject_masked"] for row in answer["rows"]} == {"浙A***45"}
    assert PLATE not in read.text and "浙B" not in read.text  # masked; the other plate absent

    # The parent audited the ask and the read, with the case and the reason.
    [ask_entry] = audit(tree.parent, "cascade.search.ask")
    [read_entry] = audit(tree.parent, "cascade.search.read")
    for entry in (ask_entry, read_entry):
        assert (entry.case_number, entry.purpose) == (CASE, REASON)
        assert entry.details["request_id"] == request["id"]
    assert read_entry.details["passages"] == 3
    # The child audited who at the parent asked, for which case, which subject (its token).
    [child_entry] = audit(tree.child, "cascade.search.answer")
    assert (child_entry.case_number, child_entry.purpose) == (CASE, REASON)
    assert child_entry.details["parent_username"] == "station"
    assert child_entry.details["passages"] == 3
    sealer = tree.child.governance.sealer
    assert sealer is not None and child_entry.record_ids == [sealer.token("plate", PLATE)]
    # Answered once: the next poll neither asks again nor audits again.
    tree.answer_round()
    assert len(audit(tree.child, "cascade.search.answer")) == 1
    # A second answer (a replay of the child's, or another's) changes nothing.
    again = SearchAnswer(node_id=CHILD_ID, request_id=request["id"], status="refused",
                         refusal="again")  # fmt: skip
    replayed = tree.client.post(
        "/api/v1/cascade/search-answers",
        content=ENCODER.encode(again),
        headers={"Authorization": f"Bearer {tree.credential}",
                 "Content-Type": "application/msgpack"},
    )  # fmt: skip
    assert replayed.status_code == 409, replayed.text
    assert tree.read(request["id"]).json()["answers"][0]["passages"] == 3
    # A user's token cannot fetch or answer a child's requests.
    fetch = tree.client.get(
        "/api/v1/cascade/search-requests", params={"node_id": CHILD_ID},
        headers=tree.as_user("station"),
    )  # fmt: skip
    assert fetch.status_code == 403


def test_a_request_needs_a_case_of_the_users_jurisdiction_and_a_reason(tree: Tree) -> None:
    no_case = tree.ask(case_number=None)
    assert no_case.status_code == 400 and no_case.json()["error"]["field"] == "case_number"
    blank = tree.ask(case_number="  ")
    assert blank.status_code == 400 and blank.json()["error"]["field"] == "case_number"
    no_reason = tree.ask(reason="")
    assert no_reason.status_code == 400 and no_reason.json()["error"]["field"] == "reason"
    unknown = tree.ask(case_number="A-2026-9999")
    assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "case_number"
    bad_plate = tree.ask(plate="浙A 12#45")
    assert bad_plate.status_code == 400 and bad_plate.json()["error"]["field"] == "plate"
    long_period = tree.ask(since=(tree.clock.now() - timedelta(days=200)).isoformat())
    assert long_period.status_code == 400 and long_period.json()["error"]["field"] == "until"
    assert audit(tree.parent, "cascade.search.ask") == []  # nothing asked, nothing sent
    tree.answer_round()
    assert audit(tree.child, "cascade.search.answer") == []


def test_a_user_outside_the_childs_jurisdiction_cannot_ask_it(tree: Tree) -> None:
    # The other station's officer: the child lies outside, and so does the case.
    outside = tree.ask("outsider")
    assert outside.status_code in (403, 404)
    add_case = tree.client.post(
        "/api/v1/cases",
        headers=tree.as_user("outsider"),
        json={"id": "B-2026-0001", "category": "vehicle_theft",
              "time_from": tree.clock.now().isoformat(), "latitude": 30.27,
              "longitude": 120.15, "jurisdiction_id": "J-OTHER"},
    )  # fmt: skip
    assert add_case.status_code == 201, add_case.text
    refused = tree.ask("outsider", case_number="B-2026-0001")
    assert refused.status_code == 403 and refused.json()["error"]["field"] == "node_id"
    # Every child of their jurisdiction: there is none.
    none = tree.ask("outsider", case_number="B-2026-0001", node_id=None)
    assert none.status_code == 404 and none.json()["error"]["field"] == "node_id"
    # A grid worker does not search at all.
    assert tree.ask("grid").status_code == 403
    # The asker's own request is not another user's to read.
    mine = tree.ask().json()
    assert tree.read(mine["id"], "outsider").status_code == 404


def test_the_child_refuses_a_request_altered_on_the_way(tree: Tree) -> None:
    # Someone on the link widens the request to the whole city: the signature breaks.
    tree.link.alter = {"jurisdiction_id": "J-CITY"}
    request = tree.ask().json()
    tree.answer_round()

    [answer] = tree.read(request["id"]).json()["answers"]
    assert answer["status"] == "refused" and "signature" in answer["refusal"]
    assert answer["rows"] == [] and answer["passages"] == 0
    assert audit(tree.child, "cascade.search.answer") == []
    [refusal] = audit(tree.child, "cascade.search.refuse")
    assert refusal.details["request_id"] == request["id"] and refusal.case_number == CASE


def test_a_parent_one_version_ahead_adding_fields_is_still_answered(tree: Tree) -> None:
    # The parent was upgraded first: its requests carry a field this child does not know.
    tree.link.newer = {"priority": "urgent", "trace": {"hops": 1}}
    tree.link.key = credential_key(hash_api_token(tree.credential))
    request = tree.ask().json()
    tree.answer_round()

    [answer] = tree.read(request["id"]).json()["answers"]
    assert answer["status"] == "answered" and answer["passages"] == 3
    assert audit(tree.child, "cascade.search.refuse") == []


def test_a_request_without_a_required_field_is_refused_naming_it(tree: Tree) -> None:
    # A request the child cannot read (here: no case number) is answered with a refusal
    # that names the field, so the parent shows why instead of a timeout; both audited.
    tree.link.leave_out = ["case_number"]
    tree.link.key = credential_key(hash_api_token(tree.credential))
    request = tree.ask().json()
    tree.answer_round()

    [answer] = tree.read(request["id"]).json()["answers"]
    assert answer["status"] == "refused", answer
    assert "case_number" in answer["refusal"] and "unreadable" in answer["refusal"]
    assert audit(tree.child, "cascade.search.answer") == []
    [refusal] = audit(tree.child, "cascade.search.refuse")
    assert refusal.details["request_id"] == request["id"]
    assert "case_number" in refusal.details["refusal"] and refusal.purpose == REASON


def test_an_unreadable_request_that_does_not_verify_is_refused_for_its_signature(
    tree: Tree,
) -> None:
    # Without the credential's key the request cannot be signed again: what it says is not
    # the parent's, and the refusal says so rather than naming a field.
    tree.link.leave_out = ["case_number"]
    tree.link.key = b"not the credential's key"
    request = tree.ask().json()
    tree.answer_round()

    [answer] = tree.read(request["id"]).json()["answers"]
    assert answer["status"] == "refused" and "signature" in answer["refusal"]
    [refusal] = audit(tree.child, "cascade.search.refuse")
    assert refusal.details["request_id"] == request["id"]


def _post_answer(tree: Tree, answer: dict[str, Any]) -> httpx.Response:
    return tree.client.post(
        "/api/v1/cascade/search-answers",
        content=msgspec.msgpack.encode(answer),
        headers={"Authorization": f"Bearer {tree.credential}",
                 "Content-Type": "application/msgpack"},
    )  # fmt: skip


def test_a_child_one_version_ahead_may_add_fields_but_not_leave_required_ones_out(
    tree: Tree,
) -> None:
    request = tree.ask().json()
    answer = {"node_id": CHILD_ID, "request_id": request["id"], "status": "answered",
              "passages": [], "confidence": 0.9}  # fmt: skip
    # A required field left out: refused, naming it, and nothing recorded.
    missing = _post_answer(tree, {k: v for k, v in answer.items() if k != "status"})
    assert missing.status_code == 400, missing.text
    assert "status" in missing.json()["error"]["message"]
    assert tree.read(request["id"]).json()["answers"][0]["status"] == "pending"
    # The field this version does not know is ignored; the answer is taken.
    taken = _post_answer(tree, answer)
    assert taken.status_code == 200, taken.text
    [kept] = tree.read(request["id"]).json()["answers"]
    assert kept["status"] == "answered" and kept["passages"] == 0


def test_the_child_refuses_a_request_delivered_after_its_expiry(tree: Tree) -> None:
    tree.link.hold = True
    request = tree.ask(expires_in_minutes=1).json()
    tree.answer_round()  # held back: the child hears nothing
    assert tree.link.held and audit(tree.child, "cascade.search.refuse") == []

    tree.clock.advance(timedelta(minutes=2))
    tree.link.hold, tree.link.release = False, True
    tree.answer_round()  # the old request arrives, late (a replay looks the same)

    [refusal] = audit(tree.child, "cascade.search.refuse")
    assert "expired" in refusal.details["refusal"]
    assert audit(tree.child, "cascade.search.answer") == []
    [answer] = tree.read(request["id"]).json()["answers"]
    assert answer["status"] == "timed_out" and answer["rows"] == []


def test_the_page_asks_and_shows_each_childs_answer(tree: Tree) -> None:
    add_user(tree.parent, tree.clock, "analyst", "analyst", "J-STATION")
    browser = TestClient(tree.client.app)
    sign_in(browser, "analyst", PASSWORD)
    page = browser.get("/cascade/searches")
    assert page.status_code == 200 and "跨区域研判" in page.text and CHILD_ID in page.text
    now = tree.clock.now().astimezone(timezone(timedelta(hours=8)))  # the pages' zone
    form = {"subject_kind": "plate", "plate": PLATE, "case_number": "", "reason": REASON,
            "since": f"{now - timedelta(days=1):%Y-%m-%dT%H:%M}",
            "until": f"{now:%Y-%m-%dT%H:%M}", "node_id": CHILD_ID,
            "expires_in_minutes": "60"}  # fmt: skip
    missing = browser.post("/cascade/searches", data=form)
    assert missing.status_code == 400 and 'data-field="case_number"' in missing.text

    asked = browser.post("/cascade/searches", data={**form, "case_number": CASE},
                         follow_redirects=False)  # fmt: skip
    assert asked.status_code == 303, asked.text
    where = asked.headers["location"].split("?")[0]
    pending = browser.get(where)
    assert 'data-status="pending"' in pending.text and "/progress" in pending.text

    tree.answer_round()
    progress = browser.get(f"{where}/progress")
    assert 'data-status="answered"' in progress.text and "hx-get" not in progress.text
    assert audit(tree.parent, "cascade.search.read") == []  # statuses only: nothing read yet
    opened = browser.get(f"{where}/answers/{CHILD_ID}?lang=en")
    assert opened.status_code == 200 and "Cross-node search" in opened.text
    assert len(re.findall(r'<tr data-device="', opened.text)) == 3
    assert "浙A***45" in opened.text and PLATE not in opened.text
    assert opened.text.count("vehicle passage") == 3
    [read] = audit(tree.parent, "cascade.search.read")
    assert read.case_number == CASE and read.details["nodes"] == [CHILD_ID]


def test_an_id_number_finds_the_residents_passages_at_the_child(tree: Tree) -> None:
    """The ID-card number travels to the child, which finds the resident it registers under
    it (its own keyed token) and their door passages by card and by reference."""
    with tree.child.db.session() as session:
        registry = RegistryService(session, identity=tree.child.governance.sealer)
        for entity, rows in (
            ("houses", [{"id": "H1", "unit_id": "C1-B1-U1", "number": "301", "area_m2": 90,
                         "registered_use": "owner_occupied"}]),
            ("residents", [{"id": "R0001", "house_id": "H1", "birth_year": 1985,
                            "is_floating": False, "card_ref": CARD, "id_number": ZHANG_ID}]),
        ):  # fmt: skip
            report = registry.load_rows(entity, rows)
            assert report.rejected == 0, report.errors
    now = tree.clock.now()
    doors = [door("a1", "card", CARD, now - timedelta(hours=5)),
             door("a2", "resident", "R0001", now - timedelta(hours=1)),
             door("n1", "resident", "R0002", now - timedelta(hours=2))]  # fmt: skip
    result = tree.child.intake.submit_raw(
        doors, source="native", sender_id=None, content_type="application/json"
    )
    assert result.accepted == 3, result.items
    assert tree.child.feeder.wait_caught_up(30)

    found = tree.ask(subject_kind="id_number", plate=None, id_number=ZHANG_ID).json()
    unknown = tree.ask(subject_kind="id_number", plate=None, id_number=LI_ID).json()
    assert found["subject_masked"] == ZHANG_ID[:4] + "*" * 10 + ZHANG_ID[-4:]
    tree.answer_round()

    read = tree.read(found["id"])
    [answer] = read.json()["answers"]
    assert answer["status"] == "answered" and answer["passages"] == 2
    assert [row["type"] for row in answer["rows"]] == ["access", "access"]
    assert ZHANG_ID not in read.text and CARD not in read.text
    [nobody] = tree.read(unknown["id"]).json()["answers"]
    assert nobody["status"] == "answered" and nobody["passages"] == 0
    entries = audit(tree.child, "cascade.search.answer")
    assert {e.record_type for e in entries} == {"id_number"} and len(entries) == 2
    sealer = tree.child.governance.sealer
    assert sealer is not None
    assert sealer.token("id_number", ZHANG_ID) in {e.record_ids[0] for e in entries}


def test_a_child_that_does_not_answer_searches_lets_them_time_out(tree: Tree) -> None:
    settings = parent_settings(tree.credential, events="none", searches=False)
    silent = UpwardForwarder(
        db=tree.child.db,
        log=tree.child.log,
        images=tree.child.images,
        clock=tree.clock,
        settings=settings,
        alert_settings=tree.child.settings.alerts,
        workspace=tree.child.settings.workspace,
        log_dir=tree.child.settings.log_dir,
        identity=tree.child.governance.sealer,
        transport=tree.link.transport,
        draw=lambda: 0.0,
        searches=responder(tree.child, settings),
    )
    request = tree.ask(expires_in_minutes=5).json()
    tree.link.requests.clear()
    tree.clock.advance(timedelta(seconds=11))
    drain(silent)
    assert "/api/v1/cascade/hello" in tree.link.requests  # it did reach the parent
    assert "/api/v1/cascade/search-requests" not in tree.link.requests
    [pending] = tree.read(request["id"]).json()["answers"]
    assert pending["status"] == "pending" and pending["delivered_at"] is None
    tree.clock.advance(timedelta(minutes=6))
    [late] = tree.read(request["id"]).json()["answers"]
    assert late["status"] == "timed_out"
    assert audit(tree.child, "cascade.search.answer") == []

"""Restricted places on a community's parameters page: add, change, remove; errors naming
the field; roles and jurisdictions refused; every change audited; plates never in clear."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

# The parameters page's site: the district, a station officer over C01–C03 ("station"),
# one over C02 only ("far") and an analyst.
from tests.models.test_model_views import PASSWORD, site  # noqa: F401 (fixture)
from tests.web.session import sign_in
from zhian.audit.models import AuditEntry
from zhian.governance.masking import mask_plate
from zhian.models.place_rules import OwnerType, VehiclePassage, rule_of
from zhian.node import Node
from zhian.registry.models import PlaceRestriction
from zhian.sim import build_district

PLATE = "浙AF0001"


@pytest.fixture
def gate() -> str:
    """A vehicle gate of C01 in the site's district."""
    district = build_district(seed=2, scale=0.1)
    return next(
        str(d["id"])
        for d in district.tables["devices"]
        if d["kind"] == "vehicle_gate" and d["community_id"] == "C01"
    )


def stored(node: Node, restriction_id: str) -> PlaceRestriction | None:
    with node.db.session() as session:
        row = session.get(PlaceRestriction, restriction_id)
        if row is not None:
            session.expunge(row)
        return row


def audit_of(node: Node) -> list[tuple[str, list[str], dict[str, object]]]:
    with node.db.session() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.record_type == "place_restriction")
        )
        return [(e.action, list(e.record_ids), dict(e.details or {})) for e in entries]


def test_a_station_officer_adds_changes_and_removes_a_restricted_place(
    site: tuple[Node, TestClient],  # noqa: F811
    gate: str,
) -> None:
    node, client = site
    sign_in(client, "station", PASSWORD)
    form = client.get("/models/communities/C01/restrictions/new?lang=zh")
    assert form.status_code == 200 and f'value="{gate}"' in form.text
    assert 'name="csrf_token"' in form.text
    added = client.post(
        "/models/communities/C01/restrictions",
        data={
            "name": "护林通道", "device_id": gate, "governs_classes": "truck",
            "direction": "in", "allowed_owners": ["community"], "allowed_plates": PLATE,
            "allowed_from_hour": "6", "allowed_until_hour": "20",
        },
    )  # fmt: skip
    assert added.status_code == 303, added.text[-800:]
    assert "restriction_saved=C01-R1" in added.headers["location"]
    row = stored(node, "C01-R1")
    assert row is not None and row.device_id == gate and row.direction == "in"
    assert PLATE not in (row.allowed_plates_token or "") and row.allowed_plates_enc
    # The rule the restricted-vehicle model keeps: an outside truck at 23:00 breaks it.
    rule = rule_of(row)
    night = VehiclePassage("tok", "truck", "in", 23, OwnerType.REGISTERED)
    assert rule.broken_by(night) is not None
    assert rule.broken_by(VehiclePassage("tok", "truck", "in", 9, OwnerType.COMMUNITY)) is None

    page = client.get("/models/communities/C01?lang=zh&restriction_saved=C01-R1").text
    listed = page.split('data-restriction="C01-R1"')[1].split("</tr>")[0]
    assert "护林通道" in listed and "6:00–20:00" in listed and mask_plate(PLATE) in listed
    assert PLATE not in page and 'id="restriction-saved"' in page

    # The edit form shows the plates masked; a blank plate field keeps them.
    edit = client.get("/models/communities/C01/restrictions/C01-R1?lang=en").text
    assert mask_plate(PLATE) in edit and PLATE not in edit and 'value="护林通道"' in edit
    changed = client.post(
        "/models/communities/C01/restrictions/C01-R1",
        data={"name": "护林通道", "device_id": gate, "allowed_classes": "van",
              "allowed_from_hour": "5", "allowed_until_hour": "22"},
    )  # fmt: skip
    assert changed.status_code == 303
    row = stored(node, "C01-R1")
    assert row is not None and row.allowed_from_hour == 5 and row.allowed_classes == "van"
    assert row.direction is None and row.allowed_owners == ""  # cleared on the form
    assert row.allowed_plates_masked == mask_plate(PLATE)  # kept
    cleared = client.post(
        "/models/communities/C01/restrictions/C01-R1",
        data={"name": "护林通道", "device_id": gate, "clear_plates": "1"},
    )
    assert cleared.status_code == 303
    row = stored(node, "C01-R1")
    assert row is not None and not row.allowed_plates_masked and not row.allowed_plates_token

    removed = client.post("/models/communities/C01/restrictions/C01-R1/remove")
    assert removed.status_code == 303 and stored(node, "C01-R1") is None
    assert 'id="restrictions-none"' in client.get("/models/communities/C01").text

    actions = audit_of(node)
    assert [a for a, _, _ in actions] == [
        "place_restriction.create",
        "place_restriction.update",
        "place_restriction.update",
        "place_restriction.remove",
    ]
    assert all(ids == ["C01-R1"] for _, ids, _ in actions)
    assert all(details["community_id"] == "C01" for _, _, details in actions)
    assert PLATE not in str(actions)  # the audit names the fields, never the plates


def test_errors_name_the_field_and_keep_what_was_typed(
    site: tuple[Node, TestClient],  # noqa: F811
    gate: str,
) -> None:
    node, client = site
    sign_in(client, "station", PASSWORD)
    cases = [
        ({"name": "x", "device_id": gate, "allowed_from_hour": "25", "allowed_until_hour": "5"},
         "allowed_from_hour"),
        ({"name": "x", "device_id": gate, "allowed_from_hour": "6"}, "allowed_from_hour"),
        ({"name": "x"}, "device_id"),
        ({"name": "x", "device_id": gate, "allowed_classes": "spaceship"}, "allowed_classes"),
        ({"name": "", "device_id": gate}, "name"),
        ({"name": "x", "device_id": gate, "direction": "sideways"}, "direction"),
    ]  # fmt: skip
    for data, field in cases:
        refused = client.post("/models/communities/C01/restrictions?lang=zh", data=data)
        assert refused.status_code == 400, (data, refused.status_code)
        assert f'data-field="{field}"' in refused.text, (data, refused.text[-1500:])
    english = client.post(
        "/models/communities/C01/restrictions?lang=en",
        data={"name": "x", "device_id": gate, "allowed_from_hour": "25",
              "allowed_until_hour": "5"},
    )  # fmt: skip
    assert "allowed from hour" in english.text and "at most 23" in english.text
    chinese = client.post(
        "/models/communities/C01/restrictions?lang=zh",
        data={"name": "夜间禁行", "device_id": gate, "allowed_from_hour": "25",
              "allowed_until_hour": "5"},
    )  # fmt: skip
    assert "许可开始时刻：应不大于 23" in chinese.text and 'value="夜间禁行"' in chinese.text
    # Another community's gate is refused at this community's page.
    district = build_district(seed=2, scale=0.1)
    other_gate = next(
        str(d["id"])
        for d in district.tables["devices"]
        if d["kind"] == "vehicle_gate" and d["community_id"] == "C02"
    )
    elsewhere = client.post(
        "/models/communities/C01/restrictions", data={"name": "x", "device_id": other_gate}
    )
    assert elsewhere.status_code == 400 and 'data-field="device_id"' in elsewhere.text
    with node.db.session() as session:
        assert session.scalars(select(PlaceRestriction)).all() == []
    assert audit_of(node) == []


def test_roles_and_jurisdictions_are_refused(
    site: tuple[Node, TestClient],  # noqa: F811
    gate: str,
) -> None:
    node, client = site
    sign_in(client, "station", PASSWORD)
    made = client.post(
        "/models/communities/C01/restrictions", data={"name": "夜间禁行", "device_id": gate}
    )
    assert made.status_code == 303
    # An analyst reads the list but may not open the form nor change anything.
    sign_in(client, "analyst", PASSWORD)
    page = client.get("/models/communities/C01").text
    assert 'data-restriction="C01-R1"' in page and "/restrictions/new" not in page
    assert client.get("/models/communities/C01/restrictions/new").status_code == 403
    assert client.post("/models/communities/C01/restrictions/C01-R1/remove").status_code == 403
    # An officer over C02 only: C01 and its rules are not found, their own page lists none.
    sign_in(client, "far", PASSWORD)
    assert client.get("/models/communities/C01/restrictions/C01-R1").status_code == 404
    assert client.post("/models/communities/C01/restrictions/C01-R1/remove").status_code == 404
    assert (
        client.post(
            "/models/communities/C01/restrictions", data={"name": "x", "device_id": gate}
        ).status_code
        == 404
    )
    # Nor can they reach C01's rule through their own community's address.
    assert client.get("/models/communities/C02/restrictions/C01-R1").status_code == 404
    assert client.post("/models/communities/C02/restrictions/C01-R1/remove").status_code == 404
    assert stored(node, "C01-R1") is not None
    # Without the page's CSRF token nothing changes.
    sign_in(client, "station", PASSWORD)
    client.headers.pop("X-CSRF-Token")
    assert client.post("/models/communities/C01/restrictions/C01-R1/remove").status_code == 403
    assert stored(node, "C01-R1") is not None

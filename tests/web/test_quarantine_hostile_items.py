"""The quarantine page shows any held raw item safely: deep, huge or not JSON at all.

A held item is whatever a device sent. The page must list it as escaped, truncated text
and answer 200; one item 100,000 levels deep once took `/quarantine` down for every admin.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import log_in
from tests.web.test_governance_pages import users  # noqa: F401 - the admin user
from zhian.ingest.quarantine.masking import RAW_SHOWN_BYTES
from zhian.ingest.validate import FieldError
from zhian.node import Node

LEVELS = 100_000


def hold(node: Node, raw: bytes) -> None:
    node.intake.quarantine_whole(
        raw,
        source="mqtt:zhian/C1/CAM1/access",
        sender_id="CAM1",
        content_type="application/json",
        error=FieldError("", "refused"),
    )


@pytest.mark.usefixtures("users")
def test_deep_huge_and_invalid_raw_items_are_listed_as_escaped_text(
    client: TestClient, node: Node
) -> None:
    items = {
        "deep arrays": b"[" * LEVELS + b"]" * LEVELS,
        "deep objects": b'{"a":' * LEVELS + b"1" + b"}" * LEVELS,
        "huge": b'{"note": "' + b"x" * 3_000_000 + b'"}',
        "markup": b'<script>alert("x")</script>',
        "not UTF-8": b"\xff\xfe\x00[" * 100,
        "phone in deep text": b'{"p":"13812345678",' + b"[" * LEVELS,
    }
    for raw in items.values():
        hold(node, raw)

    log_in(client, "admin")
    page = client.get("/quarantine")
    assert page.status_code == 200, page.text[:500]
    assert page.text.count("[[[[") >= 2  # the deep items, shown as their text
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    assert "13812345678" not in page.text  # masked even when not parsed
    assert "x" * (RAW_SHOWN_BYTES + 1) not in page.text  # cut, not the 3 MB
    assert len(page.text) < 200_000

"""Every picture a user uploads is checked (and, for patrol photos, re-encoded) off the
event loop: a large picture held every other request up while Pillow read it (issue 12,
the class of the spreadsheet finding). The device path is in tests/ingest/test_images.py."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.web.conftest import log_in
from zhian.alerts.schemas import AlertSummary
from zhian.ingest.images import ImageStore


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


def on_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.fixture
def saves(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each `ImageStore.save` ran on the event loop."""
    seen: list[bool] = []
    save: Callable[..., str] = ImageStore.save

    def recording_save(self: ImageStore, *args: Any, **kwargs: Any) -> str:
        seen.append(on_loop())
        return save(self, *args, **kwargs)

    monkeypatch.setattr(ImageStore, "save", recording_save)
    return seen


def test_every_user_upload_is_read_off_the_event_loop(
    client: TestClient, fire: AlertSummary, saves: list[bool]
) -> None:
    log_in(client, "command")
    headers = {"Content-Type": "image/jpeg"}
    phone = client.post(f"/api/v1/alerts/{fire.id}/photos", content=jpeg(), headers=headers)
    assert phone.status_code == 200, phone.text
    log_in(client, "grid")
    patrol = client.post("/api/v1/patrol/photos", content=jpeg(), headers=headers)
    assert patrol.status_code == 200, patrol.text

    log_in(client, "command")
    url = f"/alerts/{fire.id}"
    for action in ("sign", "dispatch", "arrive"):
        assert client.post(f"{url}/actions/{action}", data={"note": ""}).status_code == 303
    handled = client.post(
        f"{url}/actions/handle",
        data={"feedback": "现场确认", "note": ""},
        files={"attachments": ("scene.jpg", jpeg(), "image/jpeg")},
    )
    assert handled.status_code == 303, handled.text[-2000:]
    assert saves == [False, False, False]

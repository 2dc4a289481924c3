"""Image upload: content-checked, size-limited, referenced by events."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.ingest.conftest import bearer
from zhian.ingest.images import MAX_IMAGE_PIXELS, ImageStore
from zhian.kit.clock import ManualClock
from zhian.node import Node


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(client: TestClient, token: str, body: bytes, content_type: str) -> httpx.Response:
    return client.post(
        "/api/v1/images", content=body, headers={**bearer(token), "Content-Type": content_type}
    )


def test_png_upload_returns_a_reference_events_can_carry(
    client: TestClient, node: Node, tokens: dict[str, str], clock: ManualClock
) -> None:
    response = upload(client, tokens["CAM1"], png_bytes(), "image/png")
    ref = response.json()["ref"]

    assert response.status_code == 201
    assert ref.startswith("img:") and ref.endswith(".png")
    assert node.images.read(ref) == png_bytes()

    face = {
        "type": "face",
        "device_id": "CAM1",
        "time": clock.now().isoformat(),
        "quality": 0.9,
    }
    result = client.post(
        "/api/v1/events",
        json=[
            {**face, "id": "with-image", "image": ref},
            {**face, "id": "ghost-image", "image": "img:" + "0" * 64 + ".jpg"},
        ],
        headers=bearer(tokens["CAM1"]),
    ).json()
    assert [i["status"] for i in result["items"]] == ["accepted", "rejected"]
    assert result["items"][1]["errors"] == [{"field": "image", "reason": "unknown image reference"}]


def test_bad_uploads_are_refused_with_the_reason(
    client: TestClient, node: Node, tokens: dict[str, str]
) -> None:
    token = tokens["CAM1"]
    text_as_jpeg = upload(client, token, b"GIF89a this is not an image", "image/jpeg")
    wrong_type = upload(client, token, png_bytes(), "application/pdf")
    png_as_jpeg = upload(client, token, png_bytes(), "image/jpeg")
    too_big = upload(client, token, b"\x89PNG" + b"0" * node.settings.images.max_bytes, "image/png")
    anonymous = client.post("/api/v1/images", content=png_bytes())

    assert text_as_jpeg.status_code == 400
    assert text_as_jpeg.json()["error"]["message"] == "body is not a valid JPEG image"
    assert wrong_type.status_code == 415
    assert png_as_jpeg.status_code == 400
    assert "looks like PNG" in png_as_jpeg.json()["error"]["message"]
    assert too_big.status_code == 413
    assert anonymous.status_code == 401


def test_image_references_cannot_escape_the_blob_folder(node: Node) -> None:
    assert not node.images.exists("img:../../etc/passwd")
    assert not node.images.exists("../zhian.db")


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares `width`×`height`: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    pixels = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_an_image_declaring_too_many_pixels_is_refused_unread(
    client: TestClient, node: Node, tokens: dict[str, str]
) -> None:
    # 40000×40000 trips Pillow's own guard inside `open`; 8000×8000 (64 MP) is over
    # Zhian's limit but under Pillow's, so the header size check must catch it.
    for width, height in ((40_000, 40_000), (8_000, 8_000)):
        bomb = png_declaring(width, height)
        assert len(bomb) < 200
        response = upload(client, tokens["CAM1"], bomb, "image/png")
        assert response.status_code == 413, response.text
        message = response.json()["error"]["message"]
        assert f"limit is {MAX_IMAGE_PIXELS}" in message and "decompression bomb" in message
    assert not any(node.settings.blob_dir.rglob("*.png"))
    assert upload(client, tokens["CAM1"], png_bytes(), "image/png").status_code == 201


def test_a_device_upload_is_checked_off_the_event_loop(
    client: TestClient, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A picture of up to images.max_pixels takes Pillow a while to check: on the loop it
    # held every other request up (the page uploads: tests/web/test_uploads_off_the_loop.py).
    loops: list[bool] = []
    save = ImageStore.save

    def recording_save(self: ImageStore, data: bytes, content_type: str | None) -> str:
        try:
            asyncio.get_running_loop()
            loops.append(True)
        except RuntimeError:
            loops.append(False)
        return save(self, data, content_type)

    monkeypatch.setattr(ImageStore, "save", recording_save)
    assert upload(client, tokens["CAM1"], png_bytes(), "image/png").status_code == 201
    assert loops == [False]

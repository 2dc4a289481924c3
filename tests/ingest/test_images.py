"""Image upload: content-checked, size-limited, referenced by events."""

from __future__ import annotations

import io

import httpx
from fastapi.testclient import TestClient
from PIL import Image

from tests.ingest.conftest import bearer
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

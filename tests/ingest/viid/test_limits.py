"""GA/T 1400 bodies nested too deeply and pictures declaring too many pixels are refused.

Both were a 500 (RecursionError, Pillow's DecompressionBombError); the protocol answers
200 with a status per request or object, so the refusal is the StatusCode, and the body
or object is quarantined.
"""

from __future__ import annotations

import base64
import json

from tests.ingest.test_images import png_declaring
from tests.ingest.test_json_depth import deep_bodies
from tests.ingest.viid.conftest import FIXTURES
from zhian.access.scope import JurisdictionScope
from zhian.ingest.viid.fake import DeviceEmulator, statuses
from zhian.node import Node


def test_a_deep_body_is_status_7_and_quarantined(registered: DeviceEmulator, node: Node) -> None:
    bodies = deep_bodies()
    for path in ("/VIID/Faces", "/VIID/MotorVehicles", "/VIID/Images"):
        for body in bodies.values():
            response = registered.post(path, body)
            assert response.status_code == 200, response.text[:300]
            [status] = statuses(response.json())
            assert status["StatusCode"] == 7
            assert "deeper than 64 levels" in str(status["StatusString"])

    held = node.quarantine.list_held(scope=JurisdictionScope.unscoped())
    assert sorted(item.raw for item in held) == sorted(list(bodies.values()) * 3)
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    counts = node.store.queries.count_by_type()
    assert (counts.get("face", 0), counts.get("vehicle", 0)) == (0, 0)


def test_a_picture_declaring_too_many_pixels_is_refused(
    registered: DeviceEmulator, node: Node
) -> None:
    listing = json.loads((FIXTURES / "images_with_faces.json").read_text())
    [image] = listing["ImageListObject"]["Image"]
    image["ImageInfo"]["FileFormat"] = "Png"
    image["Data"] = base64.b64encode(png_declaring(40_000, 40_000)).decode("ascii")

    response = registered.post("/VIID/Images", listing)
    [status] = statuses(response.json())
    assert status["StatusCode"] != 0
    assert "decompression bomb" in str(status["StatusString"])
    assert not any(node.settings.blob_dir.rglob("*.png"))
    [held] = node.quarantine.list_held(scope=JurisdictionScope.unscoped())
    assert "decompression bomb" in held.reasons[0]["reason"]
    assert node.feeder.wait_caught_up(timeout_seconds=10)
    counts = node.store.queries.count_by_type()
    assert (counts.get("face", 0), counts.get("vehicle", 0)) == (0, 0)

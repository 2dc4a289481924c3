"""What a quarantine reader sees of a held GA/T 1400 body: people's names, ID numbers and
plates masked; the names of devices, checkpoints and lanes kept, to triage the item."""

from __future__ import annotations

import json

from zhian.ingest.quarantine.masking import masked_raw, shown_raw


def body(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def test_a_persons_name_is_masked_and_a_devices_name_is_not() -> None:
    face = body(
        {
            "FaceListObject": {
                "FaceObject": [{"FaceID": "F1", "Name": "张三丰", "IDNumber": "110101199003071234"}]
            }
        }
    )
    shown = masked_raw(face)
    assert "张三丰" not in shown and "110101199003071234" not in shown
    assert "张三丰" in shown_raw(face)  # the audited reveal shows it whole

    equipment = body(
        {
            "APEListObject": {
                "APEObject": [{"ApeID": "A1", "Name": "东门人脸抓拍机", "Place": "京A12345 车位"}]
            },
            "TollgateListObject": {"TollgateObject": [{"TollgateID": "T1", "Name": "北卡口"}]},
            "LaneListObject": {"LaneObject": [{"LaneId": 1, "Name": "一号车道"}]},
        }
    )
    shown = masked_raw(equipment)
    for name in ("东门人脸抓拍机", "北卡口", "一号车道"):
        assert name in shown, shown
    assert "京A12345" not in shown  # a plate in any text is still masked

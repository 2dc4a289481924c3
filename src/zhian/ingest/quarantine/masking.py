"""Raw quarantined input as readers see it: plates, ID-card numbers, phones and subject
references masked (the page and the command line alike; an audited reveal shows it clear)."""

from __future__ import annotations

import json
import re
from typing import Any

from zhian.governance.masking import mask_id_number, mask_phone, mask_plate
from zhian.governance.plates import PLATE_PROVINCES
from zhian.ingest.json_depth import depth_error

RAW_SHOWN_BYTES = 4096
_PLATE = re.compile(f"[{''.join(sorted(PLATE_PROVINCES))}][A-Za-z][A-Za-z0-9·• ]{{5,7}}")
_ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
_PHONE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
# Keys whose values name a person or a card: our own event schema (`ref`) and GA/T 1400
# objects (docs of /work/shared/protocols: names, ID numbers, phones, plates).
_SUBJECT_KEYS = frozenset(
    {"ref", "Name", "IDNumber", "UsedName", "Alias", "PhoneNumber", "TelephoneNumber",
     "MobilePhone", "PlateNo", "PlateNoAttach", "CardNo"}
)  # fmt: skip


def mask_text(text: str) -> str:
    """Plates, ID-card numbers and phone numbers in free text, masked."""
    text = _ID_NUMBER.sub(lambda found: mask_id_number(found.group()), text)
    text = _PHONE.sub(lambda found: mask_phone(found.group()), text)
    return _PLATE.sub(lambda found: mask_plate(found.group()), text)


def mask_ref(value: str) -> str:
    """A subject reference or a name: first character and last two kept."""
    return value[:1] + "*" * max(len(value) - 3, 1) + value[-2:] if len(value) > 3 else "***"


# GA/T 1400 objects that describe equipment, not people: their `Name` is a device's,
# a checkpoint's or a lane's, which a quarantine reader needs to see to triage the item.
_EQUIPMENT_KEYS = frozenset(
    {"APEObject", "APEListObject", "APSObject", "APSListObject", "TollgateObject",
     "TollgateListObject", "LaneObject", "LaneListObject"}
)  # fmt: skip


def _mask_json(value: Any, *, in_equipment: bool = False) -> Any:
    if isinstance(value, dict):
        return {
            key: (
                mask_ref(item)
                if key in _SUBJECT_KEYS
                and isinstance(item, str)
                and not (in_equipment and key == "Name")
                else _mask_json(item, in_equipment=in_equipment or key in _EQUIPMENT_KEYS)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_mask_json(item, in_equipment=in_equipment) for item in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


def masked_raw(raw: bytes) -> str:
    """`shown_raw` with identity values masked: what every reader sees."""
    return _shown(raw, masked=True)


def shown_raw(raw: bytes) -> str:
    """The raw item in the clear, for an audited reveal only."""
    return _shown(raw, masked=False)


def _shown(raw: bytes, *, masked: bool) -> str:
    """The raw item as text: JSON pretty-printed (masked or not).

    A held item is whatever a device sent, so it is parsed only when it nests no deeper
    than the intake accepts (parsing and masking both recurse; 100,000 levels would raise
    RecursionError and take the whole page down). Anything else is shown as (masked) text,
    cut at `RAW_SHOWN_BYTES`; a page escapes it.
    """
    text = raw[:RAW_SHOWN_BYTES].decode("utf-8", errors="replace")
    as_text = (mask_text(text) if masked else text) + (" …" if len(raw) > RAW_SHOWN_BYTES else "")
    if depth_error(raw) is not None:
        return as_text
    try:
        parsed = json.loads(raw)
    except ValueError:
        return as_text
    shown = _mask_json(parsed) if masked else parsed
    return json.dumps(shown, ensure_ascii=False, indent=2)[:RAW_SHOWN_BYTES]

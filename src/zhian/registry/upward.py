"""One community's registry list exported upward (一标三实上报) as a file: the same file
from the web (the community archive's export form) and from `zhian registry export`.

The caller names the acting user and their scope; here the community is checked against
that scope (NotFoundError outside it), the residents' identities are masked through the
reveal service, the export is audited (`registry.export`: the kind, format, row count and
the residents it carries) and the rows are written formula-safe as CSV or xlsx.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy.orm import Session

from zhian.access.scope import JurisdictionScope
from zhian.access.service import UserRead
from zhian.errors import BadRequestError
from zhian.governance.reveal import RevealRead, RevealService
from zhian.kit.exports import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, csv_bytes, xlsx_bytes
from zhian.registry.archive import ArchiveReader
from zhian.registry.export import EXPORT_KINDS, ExportKind, MaskedFields, RegistryExport

EXPORT_ACTION: Final = "registry.export"  # also the permission an export needs
FORMATS: Final = ("csv", "xlsx")


@dataclass(frozen=True)
class UpwardFile:
    name: str
    body: bytes
    media_type: str
    rows: int


def check_kind(kind: str) -> ExportKind:
    for known in EXPORT_KINDS:
        if kind == known:
            return known
    raise BadRequestError(f"kind must be one of {', '.join(EXPORT_KINDS)}", field="kind")


def check_format(file_format: str) -> str:
    if file_format not in FORMATS:
        raise BadRequestError("format must be csv or xlsx", field="format")
    return file_format


def upward_file(
    session: Session,
    reveal: RevealService,
    *,
    user: UserRead,
    scope: JurisdictionScope,
    community_id: str,
    kind: str,
    file_format: str,
    local_now: datetime,
    ip: str | None = None,
    via: str | None = None,
) -> UpwardFile:
    """The community's list of one kind as a file named
    `registry-{community}-{kind}-{local time}.{format}`; audited in the session."""
    checked_kind = check_kind(kind)
    check_format(file_format)
    ArchiveReader(session).community(community_id, scope=scope)  # 404 if not in the scope

    def masker(resident_id: str) -> MaskedFields:
        masked = reveal.masked(resident_id, scope=scope)
        if masked is None:
            return MaskedFields(name=None, id_number=None)
        return MaskedFields(name=masked.name, id_number=masked.id_number)

    table = RegistryExport(session).table(checked_kind, community_id, masker)
    details: dict[str, object] = {
        "kind": checked_kind,
        "format": file_format,
        "rows": len(table.rows),
        "residents": table.resident_ids,
    }
    if via is not None:
        details["via"] = via
    reveal.record_read(user, RevealRead(EXPORT_ACTION, "community", (community_id,), ip, details))
    stamp = local_now.strftime("%Y%m%d-%H%M%S")
    name = f"registry-{community_id}-{checked_kind}-{stamp}.{file_format}"
    if file_format == "xlsx":
        body = xlsx_bytes(checked_kind, table.header, table.rows)
        return UpwardFile(name, body, XLSX_MEDIA_TYPE, len(table.rows))
    return UpwardFile(name, csv_bytes(table.header, table.rows), CSV_MEDIA_TYPE, len(table.rows))

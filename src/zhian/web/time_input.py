"""Times typed into a page's form or query string."""

from __future__ import annotations

from datetime import datetime, tzinfo

from zhian.errors import BadRequestError


def parse_local_time(value: str, field: str, zone: tzinfo) -> datetime:
    """An ISO 8601 time; one without an offset is read in `zone`, the display zone the user
    sees the pages in (a `datetime-local` input sends none). 400 names the field."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequestError(
            f"'{value[:40]}' is not a date and time like 2026-11-20T09:30", field=field
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)

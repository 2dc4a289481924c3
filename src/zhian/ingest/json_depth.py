"""How deeply a JSON text nests, found without parsing it.

msgspec and the standard json module both recurse once per nesting level, so a body of
100,000 `[` raises RecursionError (a 500, not a refusal) in any of them. Every intake path
asks `depth_error` first and refuses an over-deep item as malformed, which the quarantine
then keeps verbatim like any other refusal.
"""

from __future__ import annotations

import re

MAX_JSON_DEPTH = 64
"""The deepest nesting any intake accepts; real events and GA/T 1400 bodies stay under 10."""

# A string (closed, or running to the end of the text) or one bracket. Strings are matched
# whole so that brackets inside them are not counted; an unclosed string swallows the rest
# in one match, which keeps the scan linear on texts like `"\"\"\"…`.
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*(?:"|\\?\Z)|[\[\]{}]', re.DOTALL)
_OPENERS = frozenset(b"[{")


def depth_error(raw: bytes, limit: int = MAX_JSON_DEPTH) -> str | None:
    """Why `raw` nests too deeply to be decoded, or None when it is within `limit`.

    Malformed text is not judged here (the decoder names that fault); only the nesting
    the decoder would recurse into is counted.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return None  # the usual case, decided by two C-speed counts
    depth = 0
    for token in _TOKEN.finditer(raw):
        first = token.group()[0]
        if first in _OPENERS:
            depth += 1
            if depth > limit:
                return (
                    f"JSON nests deeper than {limit} levels (at byte {token.start()}); "
                    "it is refused unread"
                )
        elif first != 0x22:  # a closing bracket; a string (") leaves the depth as it is
            depth = max(depth - 1, 0)
    return None

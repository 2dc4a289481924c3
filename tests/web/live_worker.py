"""A worker process's stand-in: opens a node on the given workspace and database, raises
one alert through `node.alerts()` and exits. Its live message goes out on the postgres feed.

Run as `python -m tests.web.live_worker <workspace> <database url>` from the repository root.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.alerts.factories import draft
from zhian.config import load_settings
from zhian.node import Node


def main(workspace: Path, database_url: str) -> None:
    settings = load_settings(
        workspace, log={"fsync": False}, database={"url": database_url}, live={"type": "postgres"}
    )
    with Node.open(settings, feed=False) as node, node.alerts() as alerts:
        print(alerts.raise_drafts([draft(node.clock.now(), tier="major")])[0])


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])

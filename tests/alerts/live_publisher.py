"""A worker process's stand-in: publishes the live messages on stdin (one JSON a line)
through the feed that `live.type = "postgres"` opens, then prints how many it published.

Run as `python -m tests.alerts.live_publisher <database url>` from the repository root.
"""

from __future__ import annotations

import sys

from tests.registry.factories import SEALER
from zhian.alerts.live import open_live_feed
from zhian.alerts.schemas import LiveMessage
from zhian.config import LiveSettings
from zhian.db.engine import Database, make_engine
from zhian.kit.clock import SystemClock


def main(database_url: str) -> None:
    db = Database(make_engine(database_url))
    # The tests' fixed key ring: the subscriber in the test process opens what this seals.
    feed = open_live_feed(LiveSettings(type="postgres"), db, SystemClock(), cipher=SEALER.cipher)
    try:
        for line in sys.stdin:
            if line.strip():
                feed.publish(LiveMessage.model_validate_json(line))
        print(feed.published)
    finally:
        feed.close()
        db.dispose()


if __name__ == "__main__":
    main(sys.argv[1])

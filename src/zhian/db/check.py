"""`python -m zhian.db.check`: fail when the models and the migrations disagree."""

from __future__ import annotations

import tempfile
from pathlib import Path

from zhian.db.engine import make_engine
from zhian.db.migrate import check, upgrade


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'check.db'}")
        upgrade(engine)
        check(engine)
        engine.dispose()
    print("Migrations match the models.")


if __name__ == "__main__":
    main()

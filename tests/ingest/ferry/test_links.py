"""A package holds plain files and folders only: links and special files refuse it whole.

Each link below leads to a file whose size and hash match the manifest, so a node that
followed it would import what the link points at; the package must be refused instead.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.ingest.ferry.conftest import ferry_of, logged_events
from tests.ingest.ferry.test_rejections import pristine, receiver  # noqa: F401 - fixtures
from zhian.access.scope import JurisdictionScope
from zhian.ingest.ferry.package import PackageRejected, read_package_file
from zhian.node import Node

LINK = "is a symbolic link; a package holds plain files and folders only"


def moved_out(package: Path, relative: str) -> Path:
    """Move a file or folder of the package beside it, where a link can point."""
    outside = package.parent / "elsewhere" / relative
    outside.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(package / relative, outside)
    return outside


def link_out(relative: str) -> Callable[[Path], None]:
    def damage(package: Path) -> None:
        (package / relative).symlink_to(moved_out(package, relative))

    return damage


def link_an_image_out(package: Path) -> None:
    image = next((package / "images").iterdir())
    link_out(image.relative_to(package).as_posix())(package)


def link_inside(package: Path) -> None:
    # The target lies in the package (an unlisted name): still a link, still refused.
    target = package / "events" / "access.csv"
    target.rename(package / "events" / "access.data")
    target.symlink_to("access.data")


def fifo_for_csv(package: Path) -> None:
    path = package / "events" / "crowd.csv"
    path.unlink()
    os.mkfifo(path)


def hard_link_from_outside(package: Path) -> None:
    path = package / "events" / "alarm.csv"
    os.link(path, package.parent / "alarm-copy.csv")


CASES: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "symlinked CSV": (link_out("events/access.csv"), "events/access.csv", LINK),
    "symlinked image": (link_an_image_out, "images/", LINK),
    "symlinked folder": (link_out("events"), "events", LINK),
    "symlinked manifest": (link_out("manifest.json"), "manifest.json", LINK),
    "link inside the package": (link_inside, "events/access.csv", LINK),
    "FIFO": (fifo_for_csv, "events/crowd.csv", "is a named pipe (FIFO)"),
    "hard link": (hard_link_from_outside, "events/alarm.csv", "has 2 hard links"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_package_with_a_link_or_special_file_is_refused_and_nothing_applied(
    case: str,
    pristine: Path,  # noqa: F811 - the fixture imported above
    receiver: Node,  # noqa: F811
    tmp_path: Path,
) -> None:
    damage, file, reason = CASES[case]
    package = tmp_path / pristine.name
    shutil.copytree(pristine, package)
    damage(package)

    with pytest.raises(PackageRejected) as refused:
        ferry_of(receiver).import_package(package)

    assert refused.value.file.startswith(file), refused.value
    assert reason in refused.value.reason, refused.value
    assert logged_events(receiver) == []
    assert ferry_of(receiver).recent_imports() == []
    assert receiver.quarantine.list_held(scope=JurisdictionScope.unscoped()) == []


def test_a_linked_package_folder_is_refused(
    pristine: Path,  # noqa: F811
    receiver: Node,  # noqa: F811
    tmp_path: Path,
) -> None:
    link = tmp_path / "package"
    link.symlink_to(pristine)
    with pytest.raises(PackageRejected, match="is a symbolic link"):
        ferry_of(receiver).import_package(link)
    assert logged_events(receiver) == []


def test_watch_sets_a_linked_package_aside_with_its_reason(
    pristine: Path,  # noqa: F811
    receiver: Node,  # noqa: F811
    tmp_path: Path,
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copytree(pristine, inbox / "linked")
    secret = tmp_path / "secret.csv"
    shutil.move(inbox / "linked" / "events" / "access.csv", secret)
    (inbox / "linked" / "events" / "access.csv").symlink_to(secret)

    (outcome,) = ferry_of(receiver).watch_once(inbox)

    assert outcome.report is None
    assert outcome.rejected_reason == f"events/access.csv: {LINK}"
    kept = inbox / "rejected" / "linked"
    assert (kept / "events" / "access.csv").is_symlink()  # kept as it came, for inspection
    assert (
        (inbox / "rejected" / "linked.reason.txt")
        .read_text(encoding="utf-8")
        .startswith("events/access.csv: is a symbolic link")
    )
    assert secret.is_file()
    assert logged_events(receiver) == []


def test_reading_a_file_opens_no_link_even_one_swapped_in_after_the_walk(
    tmp_path: Path,
) -> None:
    # The walk refuses links; each read walks the path again without following any, so a
    # link that appears between the two is refused too, and a FIFO does not block the read.
    package = tmp_path / "package"
    (package / "images").mkdir(parents=True)
    (tmp_path / "secret").write_bytes(b"not yours")
    (package / "images" / "a.png").symlink_to(tmp_path / "secret")
    (package / "events").symlink_to(tmp_path)
    os.mkfifo(package / "pipe")

    with pytest.raises(PackageRejected, match="a package holds plain files"):
        read_package_file(package, "images/a.png")
    with pytest.raises(PackageRejected, match="a package holds plain files"):
        read_package_file(package, "events/secret")
    done = threading.Event()

    def read_pipe() -> None:
        with pytest.raises(PackageRejected, match="named pipe"):
            read_package_file(package, "pipe")
        done.set()

    threading.Thread(target=read_pipe, daemon=True).start()
    assert done.wait(timeout=5), "opening a FIFO blocked"

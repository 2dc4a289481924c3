"""Identifiers in a running node: the event store holds tokens, the vault the sealed values.

On both back ends: events go through the real intake and feeder; the DuckDB file must not
hold a plate or subject reference in the clear, the vault must open each one, and key
rotation must re-encrypt the vault with every other sealed column.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.ingest.factories import load_master_data
from zhian.config import load_settings
from zhian.governance.context import Governance
from zhian.governance.identity import key_census, reseal_all
from zhian.governance.keys import key_file_path, load_keyring
from zhian.ingest.events import AccessEvent, Subject, VehicleEvent
from zhian.kit.clock import ManualClock
from zhian.node import Node

PLATE, CARD = "浙A6D789", "C55501234"


@pytest.fixture
def node(tmp_path: Path, database_url: str, clock: ManualClock) -> Iterator[Node]:
    settings = load_settings(tmp_path / "ws", database={"url": database_url}, log={"fsync": False})
    with Node.open(settings, clock, feed=False) as running:
        load_master_data(running, now=clock.now())
        yield running


def test_the_store_holds_tokens_and_the_vault_opens_them_after_rotation(
    node: Node, clock: ManualClock
) -> None:
    at = clock.now() - timedelta(minutes=5)
    events = [
        VehicleEvent(
            id=f"v{n}",
            device_id="CAM1",
            time=at + timedelta(seconds=n),
            plate=PLATE,
            plate_color="green",
            vehicle_class="car",
            direction="in",
        )
        for n in range(2)
    ] + [
        AccessEvent(
            id="a1",
            device_id="DOOR1",
            time=at,
            subject=Subject(kind="card", ref=CARD),
            direction="in",
            method="card",
            result="granted",
        )
    ]
    result = node.intake.submit_events(events, source="native")
    assert result.accepted == 3
    assert node.feeder.feed_once() == 3
    node.store.close()  # so the file is complete on disk
    raw = node.settings.event_store_path.read_bytes()
    assert PLATE.encode() not in raw and CARD.encode() not in raw
    node.store = type(node.store)(node.settings.event_store_path, node.vault)

    plate, card = node.vault.token("plate", PLATE), node.vault.token("subject", CARD)
    assert node.store.query("SELECT DISTINCT plate FROM vehicle_events") == [(plate,)]
    assert node.store.query("SELECT subject_ref FROM access_events") == [(card,)]
    with node.db.session() as session:
        opened = node.vault.reveal(session, [plate, card, "tok_unknown"])
        assert {token: item.value for token, item in opened.items()} == {
            plate: PLATE,
            card: CARD,
        }
        assert key_census(session) == {"k1": 2}  # one sealed value per identifier

    # Rotation re-encrypts the vault too; the new ring still opens every value.
    ring = load_keyring(node.settings.governance, node.settings.workspace)
    rotated = Governance(node.settings.governance, clock, ring.with_new_active())
    with node.db.session() as session:
        counts = reseal_all(session, rotated.require_sealer().cipher)
        assert counts["identifier_vault.sealed"] == 2
        assert key_census(session) == {"k2": 2}
    with node.db.session() as session:
        reopened = rotated.vault(node.db).reveal(session, [plate, card])
        assert {item.value for item in reopened.values()} == {PLATE, CARD}
    # The first start wrote the ring the node runs on; it is private to its owner.
    assert (
        key_file_path(node.settings.governance, node.settings.workspace).stat().st_mode & 0o077 == 0
    )

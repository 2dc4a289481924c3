"""The async intake path (`submit_raw_async`): checked on the event loop, awaiting the log."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any

import msgspec
import pytest

from tests.ingest.factories import access_event
from zhian.access.scope import JurisdictionScope
from zhian.kit.clock import ManualClock
from zhian.log.base import EventLogError
from zhian.node import Node


def items(ids: Sequence[str], clock: ManualClock, **fields: Any) -> list[bytes]:
    return [msgspec.json.encode(access_event(i, clock.now(), **fields)) for i in ids]


async def submit(node: Node, raws: list[bytes]) -> list[str]:
    result = await node.intake.submit_raw_async(
        raws, source="native", sender_id="DOOR1", content_type="application/json"
    )
    return [item.status for item in result.items]


def test_accepted_on_the_loop_are_in_the_log_and_a_resend_is_a_duplicate(
    node: Node, tokens: dict[str, str], clock: ManualClock
) -> None:
    before = node.log.durable_seq
    assert asyncio.run(submit(node, items(["a1", "a2"], clock))) == ["accepted", "accepted"]
    assert node.log.durable_seq == before + 1
    assert asyncio.run(submit(node, items(["a2", "a3"], clock))) == ["duplicate", "accepted"]


def test_a_batch_with_a_refusal_is_quarantined_with_field_and_reason(
    node: Node, tokens: dict[str, str], clock: ManualClock
) -> None:
    raws = items(["b1"], clock) + items(["b2"], clock, direction="sideways")
    assert asyncio.run(submit(node, raws)) == ["accepted", "rejected"]
    (held,) = node.quarantine.list_held(scope=JurisdictionScope.unscoped())
    assert held.raw == raws[1]
    assert [reason["field"] for reason in held.reasons] == ["direction"]


def test_a_failed_append_releases_the_keys_so_a_retry_is_accepted(
    node: Node, tokens: dict[str, str], clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(records: Sequence[bytes], ids: Sequence[str] | None = None) -> Awaitable[int]:
        async def fail() -> int:
            raise EventLogError("log down")

        return fail()

    with monkeypatch.context() as patch:
        patch.setattr(node.log, "append_async", failing)
        with pytest.raises(EventLogError):
            asyncio.run(submit(node, items(["c1"], clock)))
    assert asyncio.run(submit(node, items(["c1"], clock))) == ["accepted"]


def test_a_request_cancelled_during_the_append_still_settles_its_keys(
    node: Node, tokens: dict[str, str], clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client left while the log was storing the batch: the append goes on, the
    batch is durable, and a resend is a duplicate, not a second copy."""
    real = node.log.append_async
    release = asyncio.Event()

    def slow(records: Sequence[bytes], ids: Sequence[str] | None = None) -> Awaitable[int]:
        async def later() -> int:
            await release.wait()
            return await real(records, ids)

        return later()

    async def cancel_midway() -> None:
        request = asyncio.ensure_future(submit(node, items(["d1"], clock)))
        await asyncio.sleep(0.05)
        request.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request
        release.set()
        for _ in range(200):  # the append finishes after the request gave up
            await asyncio.sleep(0.01)
            if node.log.durable_seq > before:
                break
        await asyncio.sleep(0.05)

    before = node.log.durable_seq
    with monkeypatch.context() as patch:
        patch.setattr(node.log, "append_async", slow)
        asyncio.run(cancel_midway())
    assert node.log.durable_seq == before + 1
    assert asyncio.run(submit(node, items(["d1"], clock))) == ["duplicate"]

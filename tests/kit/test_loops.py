"""The background-loop helper: prompt stop, back-off that grows and resets, errors logged."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from zhian.kit.loops import BackgroundLoop


class Steps:
    """A step that fails while `failures` says so and records when it ran."""

    def __init__(self, failures: list[bool]) -> None:
        self.failures = failures
        self.calls: list[float] = []
        self.done = threading.Event()

    def __call__(self) -> None:
        self.calls.append(time.monotonic())
        if not self.failures:
            self.done.set()
            return
        if self.failures.pop(0):
            raise OSError("disk full")


def test_stop_is_prompt_even_in_a_long_rest() -> None:
    loop = BackgroundLoop("slow", lambda: None, interval_seconds=3600.0)
    loop.start()
    started = time.monotonic()
    loop.stop()
    assert time.monotonic() - started < 1.0
    assert not loop.is_running


def test_a_failing_step_is_logged_with_the_loop_name_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    steps = Steps([True, False])
    loop = BackgroundLoop("tidy-up", steps, interval_seconds=0.01)
    with caplog.at_level(logging.ERROR, logger="zhian.kit.loops"):
        loop.start()
        assert steps.done.wait(5.0)
        loop.stop()
    # Failed, went through, went through again; a slow machine may fit one more in before stop.
    assert len(steps.calls) >= 3
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "tidy-up" in errors[0].getMessage()
    assert errors[0].exc_info is not None and "disk full" in caplog.text


def test_back_off_doubles_up_to_its_cap_and_resets_after_a_success() -> None:
    loop = BackgroundLoop("b", lambda: None, interval_seconds=1.0, max_backoff_seconds=5.0)
    pauses = []
    for errors in range(5):
        loop.errors_in_a_row = errors
        pauses.append(loop.backoff_seconds())
    assert pauses == [1.0, 1.0, 2.0, 4.0, 5.0]

    steps = Steps([True, True, True, False])
    loop = BackgroundLoop("b", steps, interval_seconds=0.05, max_backoff_seconds=10.0)
    loop.start()
    assert steps.done.wait(5.0)
    loop.stop()
    assert loop.errors_in_a_row == 0  # the step that went through reset it
    gaps = [later - earlier for earlier, later in zip(steps.calls, steps.calls[1:], strict=False)]
    # 0.05, 0.1, 0.2 after the three errors; then the normal interval again.
    assert gaps[0] >= 0.045 and gaps[1] >= 0.095 and gaps[2] >= 0.195
    assert gaps[3] < 0.19


def test_a_long_interval_is_never_cut_short_by_the_back_off_cap() -> None:
    loop = BackgroundLoop("daily", lambda: None, interval_seconds=3600.0)
    loop.errors_in_a_row = 3
    assert loop.backoff_seconds() == 3600.0


def test_a_fatal_error_ends_the_loop_without_a_retry() -> None:
    calls: list[int] = []

    class CorruptRecordError(Exception):
        pass

    def step() -> None:
        calls.append(1)
        raise CorruptRecordError

    loop = BackgroundLoop("reader", step, interval_seconds=0.01, fatal=(CorruptRecordError,))
    loop.start()
    deadline = time.monotonic() + 5.0
    while loop.is_running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not loop.is_running and calls == [1]
    loop.stop()


def test_a_busy_step_runs_again_at_once_and_wake_ends_a_rest() -> None:
    runs: list[float] = []

    def step() -> bool:
        runs.append(time.monotonic())
        return len(runs) < 3  # busy for the first two rounds

    loop = BackgroundLoop("busy", step, interval_seconds=3600.0)
    loop.start()
    deadline = time.monotonic() + 5.0
    while len(runs) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(runs) == 3  # two busy rounds ran back to back; now it rests an hour
    loop.wake()
    deadline = time.monotonic() + 5.0
    while len(runs) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    loop.stop()
    assert len(runs) == 4  # one step for the wake, then the hour's rest again


def test_wait_first_rests_before_the_first_step_and_start_twice_is_refused() -> None:
    runs: list[int] = []
    loop = BackgroundLoop(
        "periodic", lambda: runs.append(1), interval_seconds=3600.0, wait_first=True
    )
    loop.start()
    with pytest.raises(RuntimeError, match="periodic"):
        loop.start()
    time.sleep(0.05)
    loop.stop()
    assert runs == []
    loop.start()  # a stopped loop starts again
    assert loop.is_running
    loop.stop()

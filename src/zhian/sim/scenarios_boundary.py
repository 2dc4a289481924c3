"""The outage going on "now": a stream never starts or ends with every device up.

A finite stream (a replayed history) ends with one entrance camera silent for its last
`BEFORE_END` seconds; an endless stream (the live feed that follows a history) starts
with the same camera still silent for `AFTER_START` seconds, then it reports again. The
camera is chosen from the district alone, so a history and the live stream that follows
it (another seed) agree on it. Replayed with its arrival times (`zhian.sim.replay`), the
history hands the device-offline rule a device already silent longer than its period at
the hand-over, so the demo shows an offline device, and its automatic clearing, at once.
"""

from __future__ import annotations

import random

from zhian.sim import truth
from zhian.sim.district import District
from zhian.sim.scenarios import Scenario
from zhian.sim.timeline import Day

BEFORE_END = 40 * 60  # more than the default offline period (15 min) and the test slack
AFTER_START = 20 * 60


def boundary_cameras(district: District) -> list[str]:
    """Entrance face cameras in a fixed order: the candidates, first free one wins."""
    cameras = [
        entrance.camera
        for site in district.sites
        for entrance in site.entrances
        if entrance.camera is not None and entrance.camera not in district.disabled_devices
    ]
    return sorted(cameras)


class OutageAcrossBoundary(Scenario):
    """An entrance camera offline across the stream's boundary (truth: device_offline)."""

    name = truth.DEVICE_OFFLINE

    def plant(self, district: District, rng: random.Random, day: Day) -> None:
        timeline = day.timeline
        if timeline.end_t is None:
            if not day.is_first:
                return
            t0, t1 = timeline.start_t, timeline.start_t + AFTER_START
            record = (t0, t1)
        else:
            t0, t1 = timeline.end_t - BEFORE_END, timeline.end_t + AFTER_START
            if not day.window[0] <= t0 < day.window[1]:
                return  # planted by the day the silence begins in, if the stream shows it
            record = (t0, t1)  # cut by `record` to "still going on" at the end
        for camera in boundary_cameras(district):
            if day.reserve(camera, t0 - 600, t1 + 600):
                day.silence(camera, t0, t1)
                day.record(self.name, camera, *record, kind="face_camera", across_boundary=True)
                return


BOUNDARY_SCENARIOS: list[type[Scenario]] = [OutageAcrossBoundary]

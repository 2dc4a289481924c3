"""The demo district: synthetic master data, event streams with planted scenarios, truth."""

from zhian.sim.district import District, build_district
from zhian.sim.output import write_ndjson
from zhian.sim.scenarios import SCENARIOS, Scenario
from zhian.sim.stream import Simulation, default_start, stream_events
from zhian.sim.timeline import TZ, Day, Sink
from zhian.sim.truth import TruthRecord, read_truth, write_truth

__all__ = [
    "SCENARIOS",
    "TZ",
    "Day",
    "District",
    "Scenario",
    "Simulation",
    "Sink",
    "TruthRecord",
    "build_district",
    "default_start",
    "read_truth",
    "stream_events",
    "write_ndjson",
    "write_truth",
]

"""Hypothesis profiles for the fuzz tests: brief in CI, long by a command.

`ZHIAN_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest tests/fuzz -p no:xdist` runs each
test with that many examples (docs/dev/fuzzing.md); unset, each runs 50. The profile is
applied per test (`tests.fuzz.inputs.FUZZ`), not loaded, so the suite's other property
tests keep their own settings.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_BRIEF_EXAMPLES = 50
_requested = os.environ.get("ZHIAN_FUZZ_EXAMPLES")
_examples = int(_requested) if _requested else _BRIEF_EXAMPLES

settings.register_profile(
    "zhian-fuzz",
    max_examples=_examples,
    deadline=None,
    # The brief run in CI uses fixed seeds, so a green run stays green and a red one can be
    # replayed; a long run by the command explores new inputs each time.
    derandomize=_requested is None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

"""The event engine's records, pinned: speed-ups of the engine must not change a byte.

Each digest is the SHA-256 of the attempts and deliveries CSV that ``simulate(...,
engine="events")`` wrote for a shipped scenario at seed 4, recorded before the engine's
hot path was made leaner (issue 14). A change that moves any draw, order or time shows
here; a deliberate change of behaviour updates the digests in the same commit and says
why.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hooklab.sim import Scenario, simulate
from hooklab.sim.export import records_paths

PINS = {
    "default": ({"messages": 1500},
                "a20bcf19caf18d1cc49be6540be742d3b2ef9da3c8d4d30004c108676a3ae856"),
    "flaky-receiver": ({"messages": 800},
                       "40e21b0e4bb1cab3897014b3a39b4b9d9c597534280991043777568dd365c4fd"),
    "key-rotation": ({"duration": 5400.0},
                     "6809aca1b42d8ac908f1594bf9628445823a81a3fac6efec3c8d52e8750e3aff"),
    "outage-storm": ({"duration": 900.0},
                     "9282a9bb974819548eb24500c15b1ceea155839100d2ebd4edac6a52522a4bc5"),
}


@pytest.mark.parametrize("name", sorted(PINS))
def test_event_engine_records_are_byte_identical_to_the_pinned_run(name: str,
                                                                   tmp_path: Path) -> None:
    changes, digest = PINS[name]
    path = tmp_path / "run.csv"
    result = simulate(Scenario.load(name).replace(**changes), seed=4, engine="events",
                      keep_records=False, records_path=path)
    assert result.summary.engine == "events"
    attempts, deliveries, _ = records_paths(path)
    assert hashlib.sha256(attempts.read_bytes() + deliveries.read_bytes()).hexdigest() == digest

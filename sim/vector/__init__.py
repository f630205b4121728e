"""hooklab.sim.vector: the vectorized path for scenarios whose deliveries share nothing.

It gives the same :class:`~hooklab.sim.summary.Summary` (the same keys) and records in the
same schema as the SimPy event engine, statistically the same (the agreement suite in
``tests/sim/test_vector_agreement.py`` holds it to that), from numpy arrays instead of one
event per answer. :func:`hooklab.sim.simulate` picks it itself (``engine="auto"``). The map:

- :mod:`.support`: :func:`why_not`, the reason a scenario needs the event engine;
- :mod:`.arrivals`: arrivals in numpy chunks;
- :mod:`.answers` and :mod:`.verdicts`: a round's receiver answers and policy verdicts;
- :mod:`.tallies`: peak rates, backlog, reordering, samples, in flat memory;
- :mod:`.run`: :class:`VectorRun`, the rounds and the records as columns.

Example::

    >>> from hooklab.sim.scenario import Scenario
    >>> why_not(Scenario.load("default")) is None
    True
"""

from .run import VectorRun
from .support import may_answer_gone, why_not

__all__ = ["VectorRun", "may_answer_gone", "why_not"]

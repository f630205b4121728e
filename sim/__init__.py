"""hooklab.sim: a SimPy discrete-event simulator of webhook delivery to flaky receivers.

Three parts, as in Ciw: parameters (:class:`Scenario`), the runner (:func:`simulate`) and
records (:class:`SimulationResult`: frozen attempt and delivery records, a
:class:`Summary`, the receivers' :class:`Outage` windows). Sweeps of many runs are
:mod:`hooklab.sim.sweep` (``hooklab sweep``); :func:`aggregate` turns their replications
into means and confidence intervals. Each delivery runs the
``Delivery`` lifecycle of :mod:`hooklab.model` on its compiled fast path, with the retry
policies of :mod:`hooklab.model.presets` and the receiver fault models of
:mod:`hooklab.model.faults`.

Example::

    >>> from hooklab.sim import Scenario, simulate
    >>> result = simulate(Scenario.flaky(0.3, messages=500), seed=7)
    >>> result.summary.to_dict()["deliveries"]
    500
    >>> result.summary.failed == sum(r.status == "failed" for r in result.deliveries)
    True
"""

from .export import Records, RecordWriter, load_records, records_paths, write_records
from .parts import Arrivals, AutoDisable, Burst, EndpointSpec
from .runner import Outage, SimulationResult, simulate
from .scenario import Scenario, named_scenarios
from .summary import EndpointSummary, Percentiles, Summary
from .sweep_stats import aggregate

__all__ = [
    "Arrivals",
    "AutoDisable",
    "Burst",
    "EndpointSpec",
    "EndpointSummary",
    "Outage",
    "Percentiles",
    "RecordWriter",
    "Records",
    "Scenario",
    "SimulationResult",
    "Summary",
    "aggregate",
    "load_records",
    "named_scenarios",
    "records_paths",
    "simulate",
    "write_records",
]

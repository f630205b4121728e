"""hooklab.sim: a SimPy discrete-event simulator of webhook delivery to flaky receivers.

Three parts, as in Ciw: parameters (:class:`Scenario`), the runner (:func:`simulate`) and
records (:class:`SimulationResult`: frozen attempt and delivery records, a
:class:`Summary`, the receivers' :class:`Outage` windows). Each delivery runs the
``Delivery`` lifecycle of :mod:`hooklab.model` on its compiled fast path, with the retry
policies of :mod:`hooklab.model.presets` and the receiver fault models of
:mod:`hooklab.model.faults`. The map of the package:

- parameters: :mod:`.scenario` (:class:`Scenario`, shipped ones in ``scenarios/*.toml``),
  :mod:`.parts` (:class:`Arrivals`, :class:`Burst`, :class:`EndpointSpec`,
  :class:`AutoDisable`), :mod:`.scenario_toml` (the TOML shape), :mod:`.arrivals` (when
  messages arrive);
- the runner: :mod:`.runner` (:func:`simulate`) over the private engine ``_engine`` (its
  run-time state in ``_state``) or, where deliveries share nothing, the vectorized path
  :mod:`hooklab.sim.vector` (numpy), with :mod:`.progress` (the bar) and :mod:`.bench`
  (``python -m hooklab.sim.bench``);
- records: :mod:`.summary` (:class:`Summary`), :mod:`.export` (records to and from CSV,
  JSON Lines, Parquet);
- :mod:`hooklab.sim.sweep`: many runs over a grid (``hooklab sweep``); :func:`aggregate`
  turns their replications into means and confidence intervals;
- :mod:`hooklab.sim.plots`: every plot, reading records (``hooklab plot``).

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
from .sweep import aggregate

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

"""Receiver fault models: how a flaky receiver answers one request.

The simulator's receivers and the real flaky HTTP receiver share these models, with the
names of the fault vocabulary in ``docs/reference.md`` (toxiproxy, Chaos Mesh, Envoy):

=================  ===========================================================  ==================
fault              what happens                                                 compact form
=================  ===========================================================  ==================
``status``         answer ``code`` with probability ``rate`` (``Retry-After``)  ``status=503:0.3:60``
``latency``        answer after ``mean`` s (``jitter``, ``distribution``)       ``latency=0.2:0.05:normal``
``timeout``        no answer at all, with probability ``rate``                  ``timeout=0.01``
``reset``          the connection is reset, with probability ``rate``           ``reset=0.01``
``truncated``      the response body is cut short, with probability ``rate``    ``truncated=0.01``
``slow_close``     the socket closes ``delay`` s late                           ``slow_close=2:0.5``
``bandwidth``      the body (``body_bytes``) trickles at ``bytes_per_second``   ``bandwidth=512:4096``
``down``           connection refused over windows, or flapping                 ``down=3600:7200``,
                                                                                ``down=flap:540:60``
``capacity``       ``limit`` at full speed; past it 503, or processor sharing   ``capacity=50:503:1``
``script``         per-attempt answers, the last repeating                      ``script=500,timeout,200``
``unauthorized``   401 over windows (e.g. it knows only the old key)            ``unauthorized=0:600``
``gone``           410 from time ``at`` on                                      ``gone=86400``
``processing``     the async EventProcessor lane: time, failures, sync ack      ``processing=0.5:0.01:sync``
=================  ===========================================================  ==================

:meth:`ReceiverModel.answer` decides one answer from the simulated or wall-clock time, the
attempt number, the requests in flight and a ``random.Random``; it is pure and cheap. The
order is: ``down``, ``gone``, ``unauthorized``, ``script``, ``capacity``, then one draw over
the rates of ``timeout``, ``reset``, ``truncated`` and ``status`` (their sum is at most 1),
else 200. Times in windows are seconds from the start of a run (the real receiver counts
from its own start).

This package is the one public face; each part lives in its own module, with a one-way
dependency ``receiver`` → ``spec`` → ``kinds``:

- :mod:`~hooklab.model.faults.kinds`: one frozen class per fault, and :class:`Answer`;
- :mod:`~hooklab.model.faults.spec`: the compact and TOML spellings, one parser per fault;
- :mod:`~hooklab.model.faults.receiver`: :class:`ReceiverModel`, which joins them.

Example::

    >>> import random
    >>> model = ReceiverModel.parse("status=503:1:30 latency=0.1")
    >>> model.answer(now=0.0, attempt=1, in_flight=0, rng=random.Random(1))
    Answer(status=503, error=None, latency=0.1, retry_after=30.0, fault='status', transfer=0.0, slow_close=0.0)
"""  # noqa: E501

from .kinds import (
    ANSWER_ERRORS,
    DISTRIBUTIONS,
    FAULT_NAMES,
    Answer,
    Bandwidth,
    Capacity,
    Down,
    EventProcessor,
    Latency,
    SlowClose,
    StatusFault,
)
from .receiver import ReceiverModel, faults_from_mapping, faults_to_mapping, parse_faults

__all__ = [
    "ANSWER_ERRORS",
    "DISTRIBUTIONS",
    "FAULT_NAMES",
    "Answer",
    "Bandwidth",
    "Capacity",
    "Down",
    "EventProcessor",
    "Latency",
    "ReceiverModel",
    "SlowClose",
    "StatusFault",
    "faults_from_mapping",
    "faults_to_mapping",
    "parse_faults",
]

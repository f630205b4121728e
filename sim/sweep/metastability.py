"""The metastability explorer: does delivery recover once a load spike is over?

A *metastable failure* (Bronson et al., HotOS 2021; Huang et al., OSDI 2022) is an
overload that outlives its trigger: the trigger pushes a system into a bad state that
sustains itself through work amplification, here retries. The explorer builds that setup
from the simulator's own parts:

- one endpoint whose receiver has a concurrency ``capacity`` with ``overflow = "slow"``:
  processor sharing, so past the limit every request in service is slowed to
  ``capacity / in_flight`` of full speed, and a request the sender gave up on still
  keeps the receiver busy;
- the sender's request ``timeout``: a slow answer becomes a timeout, which the retry
  policy turns into a retry, adding load exactly when there is no room for it;
- Poisson arrivals at ``rate`` (by default half of what the receiver can serve), then a
  *trigger*: ``trigger_size × rate`` extra messages per second for ``trigger_duration``
  seconds, after ``warmup`` seconds of normal load.

After the trigger ends the run goes on for ``observe`` seconds. A run *recovers* when at
least ``recovered_share`` of the attempts that end in the last ``tail`` seconds succeed,
and is *stuck* otherwise. In practice the share is near 1 or near 0: a stuck receiver
times out everything, and the retries keep it stuck. The sweep's grid is trigger size ×
trigger duration × policy (``hooklab sweep --preset metastability``); :func:`phase_map`
turns its table into a phase map, which :func:`plot_phase_map` draws.

Example::

    >>> setup = MetastabilitySetup(observe=300.0)
    >>> row = metastability_cell(setup, {"policy": "svix", "trigger_size": 0}, seed=1)
    >>> row["phase"], row["success_share_after"]
    ('recovers', 1.0)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hooklab.model.errors import ConfigError, ScenarioError
from hooklab.model.faults import Capacity, Latency, ReceiverModel

from ..parts import Arrivals, Burst, EndpointSpec
from ..runner import simulate
from ..scenario import Scenario
from .grid import Value
from .params import SWEEP_PARAMETERS, apply_cell

__all__ = [
    "METASTABILITY_PARAMETERS",
    "PHASES",
    "PRESET_GRID",
    "MetastabilitySetup",
    "PhaseCell",
    "PhaseMap",
    "check_metastability_parameters",
    "metastability_cell",
    "phase_map",
    "plot_phase_map",
]

#: The two phases a run can end in.
PHASES = ("recovers", "stuck")
#: The grid ``--preset metastability`` sweeps unless ``--grid`` flags replace a dimension.
PRESET_GRID: dict[str, tuple[Value, ...]] = {
    "policy": ("github", "diagram", "svix", "hook0"),
    "trigger_size": (0.5, 1, 2, 4),
    "trigger_duration": (10, 30, 60, 120),
}
_TRIGGER = ("trigger_size", "trigger_duration")


@dataclass(frozen=True)
class MetastabilitySetup:
    """The explorer's system: arrivals, the degrading receiver, the timeline and verdict.

    Any field can also be a grid parameter (``--grid capacity=20,40``).
    """

    rate: float = 20.0  #: base arrivals, messages per second
    capacity: int = 20  #: concurrent requests the receiver serves at full speed
    latency: float = 0.5  #: the receiver's latency under capacity, seconds (±20 %)
    timeout: float = 5.0  #: the sender's request timeout, seconds
    warmup: float = 120.0  #: seconds of normal load before the trigger
    observe: float = 600.0  #: seconds the run goes on after the trigger ends
    tail: float = 120.0  #: the last seconds whose attempts decide the phase
    recovered_share: float = 0.9  #: success share of those attempts that counts as recovered
    trigger_step: float = 1.0  #: the trigger's extra messages arrive in bursts this far apart

    def __post_init__(self) -> None:
        for name in ("rate", "latency", "timeout", "observe", "tail", "trigger_step"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ScenarioError(f"metastability {name} must be > 0, got {value!r}")
        if not 0 <= self.warmup < math.inf:
            raise ScenarioError(f"metastability warmup must be >= 0, got {self.warmup!r}")
        if self.tail > self.observe:
            raise ScenarioError("metastability tail must not be longer than observe")
        if not 0 < self.recovered_share <= 1:
            raise ScenarioError("metastability recovered_share must be in (0, 1]")

    def scenario(
        self, *, trigger_size: float, trigger_duration: float, policy: str = "diagram"
    ) -> Scenario:
        """The scenario of one run: normal load, the trigger, then ``observe`` seconds.

            >>> s = MetastabilitySetup().scenario(trigger_size=2, trigger_duration=10)
            >>> sum(b.count for b in s.arrivals.bursts)
            400
        """
        for name, value in (("trigger_size", trigger_size), ("trigger_duration", trigger_duration)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                0 <= value < math.inf
            ):
                raise ScenarioError(f"{name} must be a number >= 0, got {value!r}")
        horizon = self.warmup + trigger_duration + self.observe
        receiver = ReceiverModel(
            latency=Latency(self.latency, 0.2 * self.latency, "uniform"),
            capacity=Capacity(self.capacity, "slow"),
        )
        return Scenario(
            name="metastability",
            description="load spike against a receiver that slows down under overload",
            messages=None,
            duration=horizon,
            arrivals=Arrivals("poisson", self.rate, bursts=self._bursts(trigger_size,
                                                                       trigger_duration)),
            endpoints=(EndpointSpec("receiver", timeout=self.timeout, receiver=receiver),),
            policy=policy,
            until=horizon,
        )  # fmt: skip

    def _bursts(self, size: float, duration: float) -> tuple[Burst, ...]:
        bursts: list[Burst] = []
        steps = int(math.ceil(duration / self.trigger_step - 1e-9))
        given = 0
        for i in range(steps):
            span = min(self.trigger_step, duration - i * self.trigger_step)
            due = round(size * self.rate * (i * self.trigger_step + span))
            if due > given:
                bursts.append(Burst(self.warmup + i * self.trigger_step, due - given))
                given = due
        return tuple(bursts)

    def describe(self) -> str:
        """One line saying what the explorer simulates.

            >>> MetastabilitySetup().describe().split(";")[0]
            'receiver: 20 concurrent requests at 0.5 s (40 messages/s)'
        """
        return (
            f"receiver: {self.capacity} concurrent requests at {self.latency:g} s "
            f"({self.capacity / self.latency:g} messages/s); base load {self.rate:g} "
            f"messages/s; sender timeout {self.timeout:g} s; trigger after {self.warmup:g} s; "
            f"verdict on the last {self.tail:g} s of {self.observe:g} s after the trigger"
        )

    def fingerprint(self) -> str:
        """The setup's identity for run ids (``metastability@`` and a digest)."""
        text = json.dumps(dataclasses.asdict(self), sort_keys=True)
        return f"metastability@{hashlib.sha256(text.encode()).hexdigest()[:12]}"


_SETUP_FIELDS = frozenset(f.name for f in dataclasses.fields(MetastabilitySetup))
#: Every grid parameter the explorer understands: the setup's fields, the trigger's size
#: and duration, and every parameter of an ordinary sweep.
METASTABILITY_PARAMETERS = _SETUP_FIELDS | frozenset(_TRIGGER) | frozenset(SWEEP_PARAMETERS)


def check_metastability_parameters(names: Iterable[str]) -> None:
    """Raise :class:`ConfigError` (field ``grid``) for a grid name the explorer does not
    understand.

        >>> check_metastability_parameters(["trigger_size", "colour"])
        Traceback (most recent call last):
        ...
        hooklab.model.errors.ConfigError: grid colour: unknown parameter of the metastability ...
    """
    for name in names:
        if name not in METASTABILITY_PARAMETERS:
            raise ConfigError(
                f"grid {name}: unknown parameter of the metastability explorer; "
                f"known: {', '.join(sorted(METASTABILITY_PARAMETERS))}", field="grid"
            )


def metastability_cell(
    setup: MetastabilitySetup, cell: Mapping[str, Value], seed: int
) -> dict[str, Any]:
    """Run one explorer cell; the summary plus the verdict on recovery.

    Besides the usual summary keys it returns ``phase`` (``recovers`` or ``stuck``),
    ``recovered`` (1 or 0), ``success_share_after`` and ``attempts_per_s_after`` (over
    the last ``tail`` seconds), ``load_after`` (that attempt rate over the base rate),
    ``recovery_s`` (seconds from the trigger's end until 10-second windows stay at or
    above the share; null when stuck) and ``trigger_end_s``.
    """
    own: dict[str, Any] = {k: v for k, v in cell.items() if k in _SETUP_FIELDS}
    rest = {k: v for k, v in cell.items() if k not in _SETUP_FIELDS and k not in _TRIGGER}
    if own:
        try:
            setup = dataclasses.replace(setup, **own)
        except TypeError as exc:
            raise ScenarioError(f"metastability setup: {exc}") from None
    size = cell.get("trigger_size", 0)
    duration = cell.get("trigger_duration", 0)
    base = setup.scenario(trigger_size=size, trigger_duration=duration)  # type: ignore[arg-type]
    scenario = apply_cell(base, rest)
    result = simulate(scenario, seed=seed, keep_records=True, progress=False)
    end = setup.warmup + float(duration)  # type: ignore[arg-type]
    horizon = end + setup.observe
    summary = result.summary.to_dict()
    summary.update(_verdict(result.attempts, setup, end, horizon))
    return summary


def _verdict(attempts: Sequence[Any], setup: MetastabilitySetup, end: float,
             horizon: float) -> dict[str, Any]:  # fmt: skip
    tail_start = horizon - setup.tail
    tail = [a for a in attempts if tail_start <= a.end < horizon]
    ok = sum(1 for a in tail if a.outcome == "success")
    share = ok / len(tail) if tail else 1.0
    recovered = share >= setup.recovered_share
    rate = len(tail) / setup.tail
    return {
        "trigger_end_s": end,
        "success_share_after": round(share, 6),
        "attempts_per_s_after": round(rate, 6),
        "load_after": round(rate / setup.rate, 6),
        "recovered": int(recovered),
        "recovery_s": _recovery_s(attempts, setup, end, horizon) if recovered else None,
        "phase": PHASES[0] if recovered else PHASES[1],
    }


def _recovery_s(attempts: Sequence[Any], setup: MetastabilitySetup, end: float,
                horizon: float, window: float = 10.0) -> float:  # fmt: skip
    bins = int(math.ceil((horizon - end) / window))
    total, good = [0] * bins, [0] * bins
    for a in attempts:
        if end <= a.end < horizon:
            i = min(int((a.end - end) // window), bins - 1)  # a.end - end may round up
            total[i] += 1
            good[i] += a.outcome == "success"
    last_bad = -1
    for i in range(bins):
        if total[i] and good[i] / total[i] < setup.recovered_share:
            last_bad = i
    return (last_bad + 1) * window


@dataclass(frozen=True)
class PhaseCell:
    """One (policy, trigger size, trigger duration) cell over its replications."""

    policy: str
    trigger_size: float
    trigger_duration: float
    runs: int
    recovered: int

    @property
    def phase(self) -> str:
        """``recovers`` when most replications recovered, else ``stuck``."""
        return PHASES[0] if 2 * self.recovered > self.runs else PHASES[1]

    @property
    def unanimous(self) -> bool:
        """Whether every replication ended in the same phase."""
        return self.recovered in (0, self.runs)


@dataclass(frozen=True)
class PhaseMap:
    """The explorer's result: per policy, a grid of trigger sizes × durations."""

    policies: tuple[str, ...]
    sizes: tuple[float, ...]
    durations: tuple[float, ...]
    cells: dict[tuple[str, float, float], PhaseCell]

    def cell(self, policy: str, size: float, duration: float) -> PhaseCell | None:
        """The cell at these coordinates, if the sweep ran it."""
        return self.cells.get((policy, size, duration))

    def to_text(self) -> str:
        """One small table per policy: sizes down, durations across, ``ok``/``STUCK``
        (with ``k/n`` recovered when the replications disagree)."""
        width = max(8, *(len(_fmt(d)) + 2 for d in self.durations))
        lines: list[str] = []
        for policy in self.policies:
            lines.append(f"policy {policy}: trigger size (x rate) down, duration (s) across")
            lines.append(" " * 8 + "".join(f"{_fmt(d):>{width}}" for d in self.durations))
            for size in self.sizes:
                marks = []
                for duration in self.durations:
                    c = self.cell(policy, size, duration)
                    mark = "-" if c is None else ("ok" if c.phase == PHASES[0] else "STUCK")
                    if c is not None and not c.unanimous:
                        mark = f"{mark} {c.recovered}/{c.runs}"
                    marks.append(f"{mark:>{width}}")
                lines.append(f"{_fmt(size):>8}" + "".join(marks))
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"


def _fmt(value: float) -> str:
    return f"{value:g}"


def phase_map(rows: Iterable[Mapping[str, Any]]) -> PhaseMap:
    """The phase map of an explorer sweep's results rows (CSV strings or typed values).

        >>> rows = [{"policy": "svix", "trigger_size": "2", "trigger_duration": "60",
        ...          "recovered": "0"}]
        >>> phase_map(rows).cell("svix", 2.0, 60.0).phase
        'stuck'
    """
    counts: dict[tuple[str, float, float], list[int]] = {}
    for row in rows:
        try:
            key = (str(row.get("policy") or "scenario"), float(row["trigger_size"]),
                   float(row["trigger_duration"]))  # fmt: skip
            recovered = int(float(row["recovered"]))
        except (KeyError, TypeError, ValueError):
            raise ConfigError(
                "not a metastability table: rows need trigger_size, trigger_duration and "
                "recovered"
            ) from None
        tally = counts.setdefault(key, [0, 0])
        tally[0] += 1
        tally[1] += recovered
    cells = {k: PhaseCell(k[0], k[1], k[2], n, r) for k, (n, r) in counts.items()}
    policies = tuple(dict.fromkeys(k[0] for k in counts))
    return PhaseMap(
        policies=policies,
        sizes=tuple(sorted({k[1] for k in counts})),
        durations=tuple(sorted({k[2] for k in counts})),
        cells=cells,
    )


def plot_phase_map(source: PhaseMap | Iterable[Mapping[str, Any]], *,
                   title: str | None = None) -> Any:  # fmt: skip
    """Draw the phase map: one panel per policy, trigger duration across, size up.

    Recovering cells are blue, stuck cells vermillion and hatched (Okabe–Ito colours, and
    the hatching keeps them apart in grey print); cells whose replications disagree
    carry ``k/n`` recovered. Returns a matplotlib ``Figure``.

        >>> rows = [{"policy": "svix", "trigger_size": 2, "trigger_duration": 60,
        ...          "recovered": 0}]
        >>> plot_phase_map(rows).axes[0].get_xlabel()
        'trigger duration (s)'
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch, Rectangle

    from ..plots.style import OKABE_ITO

    pm = source if isinstance(source, PhaseMap) else phase_map(source)
    if not pm.cells:
        raise ConfigError("the phase map is empty: the sweep has no finished runs")
    styles: dict[str, dict[str, Any]] = {
        PHASES[0]: {"facecolor": OKABE_ITO["blue"], "hatch": None},
        PHASES[1]: {"facecolor": OKABE_ITO["vermillion"], "hatch": "//"},
    }
    n = len(pm.policies)
    fig = Figure(figsize=(1.0 + 3.2 * n, 3.8), layout="constrained")
    axes = fig.subplots(1, n, sharey=True, squeeze=False)[0]
    for ax, policy in zip(axes, pm.policies, strict=True):
        for yi, size in enumerate(pm.sizes):
            for xi, duration in enumerate(pm.durations):
                c = pm.cell(policy, size, duration)
                if c is None:
                    continue
                ax.add_patch(Rectangle((xi - 0.5, yi - 0.5), 1, 1, edgecolor="white",
                                       linewidth=1.5, **styles[c.phase]))  # fmt: skip
                if not c.unanimous:
                    ax.text(xi, yi, f"{c.recovered}/{c.runs}", ha="center", va="center",
                            color="white", fontsize=8, fontweight="bold")  # fmt: skip
        ax.set_xlim(-0.5, len(pm.durations) - 0.5)
        ax.set_ylim(-0.5, len(pm.sizes) - 0.5)
        ax.set_xticks(range(len(pm.durations)), [_fmt(d) for d in pm.durations])
        ax.set_yticks(range(len(pm.sizes)), [_fmt(s) for s in pm.sizes])
        ax.set_title(f"policy: {policy}")
        ax.set_xlabel("trigger duration (s)")
    axes[0].set_ylabel("trigger size (extra load, × base rate)")
    handles = [Patch(label=phase, edgecolor="white", **styles[phase]) for phase in PHASES]
    fig.legend(handles=handles, loc="outside right upper", title="after the trigger",
               frameon=False)  # fmt: skip
    fig.suptitle(title or "Metastability: does delivery recover after a load spike?")
    return fig

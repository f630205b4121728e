"""The simulator's behaviours, one at a time: storms, duplicates, 410, Retry-After,
scripts, auto-disable, drains, fan-out, ordering, processing, determinism."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from hooklab.model.errors import IllegalTransition
from hooklab.model.faults import EventProcessor, Latency, ReceiverModel
from hooklab.sim import Arrivals, AutoDisable, EndpointSpec, Scenario, simulate
from hooklab.sim._engine import DELIVERY, Engine
from hooklab.sim._state import DeliveryState


def one(receiver: ReceiverModel | str, *, messages: int = 100, policy: object = "diagram",
        **kw: object) -> Scenario:
    model = ReceiverModel.parse(receiver) if isinstance(receiver, str) else receiver
    endpoint = EndpointSpec("r", receiver=model, **kw)  # type: ignore[arg-type]
    return Scenario(messages=messages, arrivals=Arrivals("uniform", rate=1.0),
                    endpoints=(endpoint,), policy=policy)  # type: ignore[arg-type]


def peak_after(result: object, t: float) -> int:
    counts = Counter(int(a.start) for a in result.attempts if a.start >= t)  # type: ignore[attr-defined]
    return max(counts.values())


def test_outage_storm_unjittered_retries_come_in_waves_and_jitter_spreads_them() -> None:
    storm = Scenario.load("outage-storm").replace(duration=600.0)
    burst = storm.arrivals.bursts[0].count
    plain = simulate(storm.replace(policy="standard-webhooks"), seed=1)
    jittered = simulate(storm.replace(policy={"preset": "standard-webhooks",
                                              "jitter": "proportional",
                                              "jitter_fraction": 0.2}), seed=1)
    outage_end = 2400.0
    # without jitter the whole burst comes back within one second, again and again
    assert peak_after(plain, outage_end) >= 0.9 * burst
    waves = [s for s, n in Counter(int(a.start) for a in plain.attempts).items() if n > burst / 2]
    assert len(waves) >= 4
    # proportional jitter spreads the same retries thin
    assert peak_after(jittered, outage_end) <= 0.05 * burst
    assert jittered.summary.failed < plain.summary.failed


def test_answers_after_the_sender_timeout_make_duplicates() -> None:
    result = simulate(one("latency=20", policy={"delays": [1, 1, 1]}, timeout=10.0,
                          messages=50), seed=0)
    s = result.summary
    assert {a.outcome for a in result.attempts} == {"timeout"}
    assert s.failed == 50 and s.attempts == 200
    assert s.duplicates == 150  # the receiver acknowledged every one of the 4 attempts


def test_truncated_answers_are_resets_to_the_sender_but_acked_by_the_receiver() -> None:
    result = simulate(one("script=truncated,200"), seed=0)
    assert [a.error for a in result.attempts if a.message_id == "msg_0000000"] == ["reset", None]
    assert result.summary.duplicates == 100


def test_gone_fails_the_delivery_and_disables_the_endpoint() -> None:
    result = simulate(one("gone=10.5", messages=30), seed=0)
    s = result.summary
    assert s.endpoints[0].disabled_at == 11.0
    reasons = Counter(d.reason for d in result.deliveries)
    assert reasons == {None: 11, "gone": 1, "disabled": 18}
    assert all(a.start <= 11.0 for a in result.attempts)


def test_gone_without_auto_disable_keeps_the_endpoint() -> None:
    result = simulate(one("gone=10.5", messages=30, auto_disable=AutoDisable(gone=False)),
                      seed=0)
    assert result.summary.endpoints[0].disabled_at is None
    assert Counter(d.reason for d in result.deliveries) == {None: 11, "gone": 19}


def test_consecutive_failures_disable_the_endpoint() -> None:
    scenario = one("status=500:1", messages=20, policy={"delays": [1]},
                   auto_disable=AutoDisable(consecutive=3))
    result = simulate(scenario, seed=0)
    e = result.summary.endpoints[0]
    assert e.disabled_reason == "3 consecutive failed deliveries"
    assert Counter(d.reason for d in result.deliveries)["exhausted"] == 3
    assert e.failed == 20 and e.delivered == 0


def test_retry_after_is_clamped_by_svix() -> None:
    result = simulate(one("script=429,200", messages=1, policy="svix"), seed=0)
    first, second = result.attempts
    assert first.status_code == 429 and second.status_code == 200
    assert second.start - first.end == 60.0  # Svix waits at least 60 s after a 429
    result = simulate(one("status=503:1:7", messages=1, policy="svix"), seed=0)
    first, second = result.attempts[:2]
    assert second.start - first.end == pytest.approx(7.0)  # inside [4, 12]: honoured


def test_scripts_run_per_attempt() -> None:
    result = simulate(one("script=500,timeout,reset,200", messages=3), seed=0)
    outcomes = [a.outcome for a in result.attempts if a.message_id == "msg_0000000"]
    assert outcomes == ["server_error", "timeout", "connection", "success"]


def test_drain_time_after_an_outage() -> None:
    # retries 60, 120, 240 s apart: the last message stuck in the outage is retried
    # at 1020 + 60 + 120 + 240 = 1440 > 1200
    result = simulate(one("down=1000:1200", messages=1100, policy={"delays": [60, 120, 240]}),
                      seed=0)
    (outage,) = result.outages
    assert (outage.start, outage.end, outage.kind) == (1000.0, 1200.0, "down")
    assert outage.drain_s == result.summary.time_to_drain_s
    assert outage.drain_s is not None and 0 < outage.drain_s <= 420


def test_a_fast_flapping_receiver_lists_a_bounded_number_of_outages() -> None:
    from hooklab.sim.runner import MAX_FLAP_OUTAGES

    # 0.002 s periods over ~30 simulated minutes: about 900,000 windows, unbounded.
    result = simulate(one("down=flap:0.001:0.001", messages=5), seed=0, keep_records=False)
    flaps = [o for o in result.outages if o.kind == "down"]
    assert len(flaps) == MAX_FLAP_OUTAGES
    assert flaps[0].start == 0.001 and flaps[1].start == pytest.approx(0.003)


def test_fan_out_follows_event_type_filters() -> None:
    endpoints = (EndpointSpec("all"), EndpointSpec("invoices", events=("invoice.*",)),
                 EndpointSpec("nothing", events=("customer.deleted",)))
    scenario = Scenario(messages=300, endpoints=endpoints, arrivals=Arrivals(
        "poisson", rate=5.0, event_types=(("invoice.paid", 1.0), ("customer.created", 1.0))))
    result = simulate(scenario, seed=3)
    per = {e.id: e.deliveries for e in result.summary.endpoints}
    assert per["all"] == 300 and per["nothing"] == 0
    invoices = sum(d.event_type == "invoice.paid" for d in result.deliveries
                   if d.endpoint_id == "all")
    assert per["invoices"] == invoices and 100 < invoices < 200
    assert result.summary.deliveries == 300 + invoices


def test_out_of_order_counts_overtaken_deliveries() -> None:
    # message 0 finds the receiver down (retried at 60 s); messages 1..9 go through at once
    scenario = Scenario(messages=10, arrivals=Arrivals("uniform", rate=1.0),
                        endpoints=(EndpointSpec("r", receiver=ReceiverModel.parse(
                            "down=0:0.5")),))
    result = simulate(scenario, seed=0)
    assert result.summary.out_of_order == {"r": 1}


def test_synchronous_processing_failures_answer_500() -> None:
    lane = EventProcessor(time=2.0, failure_rate=0.5, synchronous=True)
    result = simulate(one(ReceiverModel(processing=lane), messages=400,
                          policy={"delays": [1] * 9}), seed=0)
    s = result.summary
    assert s.processing_failures > 100
    assert s.delivered == 400
    assert s.endpoints[0].processed == 400
    assert any(a.end - a.start > 0 for a in result.attempts)


def test_same_seed_gives_identical_record_files(tmp_path: Path) -> None:
    scenario = Scenario.load("outage-storm").replace(duration=300.0)
    a, b = (tmp_path / "a.csv"), (tmp_path / "b.csv")
    simulate(scenario, seed=9, keep_records=False, records_path=a)
    simulate(scenario, seed=9, keep_records=False, records_path=b)
    assert a.read_bytes() == b.read_bytes()
    assert (tmp_path / "a.deliveries.csv").read_bytes() == \
        (tmp_path / "b.deliveries.csv").read_bytes()
    simulate(scenario, seed=10, keep_records=False, records_path=b)
    assert a.read_bytes() != b.read_bytes()


def test_cut_off_leaves_pending_deliveries() -> None:
    result = simulate(one("status=500:1", messages=10).replace(until=100.0), seed=0)
    s = result.summary
    assert s.pending > 0 and s.pending + s.failed + s.delivered == s.deliveries
    assert s.sim_time_s == 100.0
    assert all(d.reason == "cut_off" for d in result.deliveries if d.status == "pending")


def test_illegal_transitions_surface_as_illegal_transition() -> None:
    engine = Engine(one(ReceiverModel(), messages=1), seed=0)
    done = DeliveryState(0, 0, engine.endpoints[0], 0.0)
    done.state = DELIVERY.index("end")
    with pytest.raises(IllegalTransition, match="post"):
        engine._attempt(done, 0.0)


def test_latency_and_timeout_shape_attempt_durations() -> None:
    model = ReceiverModel(latency=Latency(3.0), timeout=0.5)
    result = simulate(one(model, messages=200, timeout=2.0), seed=0)
    durations = {round(a.end - a.start, 6) for a in result.attempts}
    assert durations == {2.0}  # 3 s answers and hangs both hit the 2 s timeout


def test_a_status_the_policy_never_retries_ends_not_retried_after_one_attempt() -> None:
    refusing = {"delays": [1, 1, 1], "no_retry_codes": [400]}
    result = simulate(one("script=500,400", policy=refusing, messages=20), seed=0)
    s = result.summary
    assert s.failed == 20 and s.attempts == 40
    assert dict(s.failed_by_reason) == {"not_retried": 20}


def test_no_attempt_starts_past_the_retry_window_under_a_bounded_pool() -> None:
    # the verdict checks the window when a retry is queued; a retry that then waits for one
    # of 2 busy workers must be checked again when a worker takes it
    window = 100.0
    policy = {"schedule": "constant", "delay": 90, "max_attempts": 50, "max_window": window}
    receiver = ReceiverModel.parse("status=500:1 latency=0.5")
    scenario = Scenario(messages=2_000, arrivals=Arrivals("poisson", rate=3.0), workers=2,
                        endpoints=(EndpointSpec("r", receiver=receiver),), policy=policy)
    result = simulate(scenario, seed=1)
    first: dict[str, float] = {}
    late = 0
    for a in sorted(result.attempts, key=lambda a: (a.message_id, a.attempt)):
        first.setdefault(a.message_id, a.start)
        late += a.start - first[a.message_id] > window
    assert result.summary.deliveries == 2_000 and late == 0
    reasons = Counter(d.reason for d in result.deliveries)
    assert set(reasons) == {"retry_window"}  # every one failed, none past the window


@pytest.mark.parametrize("faults", [
    "status=500:0.3 latency=0.2:0.1:lognormal timeout=0.05",
    "status=503:0.2:3 capacity=2:slow latency=1 down=100:300 bandwidth=2048",
    "script=500,timeout,200 latency=0.5",
])
@pytest.mark.parametrize("workers", [None, 2])
def test_a_delivery_comes_due_exactly_when_simpy_processes_it(faults: str,
                                                              workers: int | None) -> None:
    """The engine reads a delivery's ``due`` instead of the clock: they must be equal."""
    scenario = one(faults, messages=150).replace(workers=workers)
    engine = Engine(scenario, seed=3)
    seen: list[tuple[float, float]] = []
    answered, retry = engine._answered, engine._retry

    def check(handler):  # type: ignore[no-untyped-def]
        def wrapped(d: DeliveryState) -> None:
            seen.append((d.due, engine.env.now))
            handler(d)
        return wrapped

    engine._answered = check(answered)  # type: ignore[method-assign]
    engine._retry = check(retry)  # type: ignore[method-assign]
    engine.on_answer, engine.on_retry = (engine._answered,), (engine._retry,)
    engine.start()
    engine.env.run()
    assert len(seen) > 150
    assert [due for due, _ in seen] == [now for _, now in seen]

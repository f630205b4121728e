"""Scenarios: shipped names, TOML files, strict errors, arrival processes, overrides."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from hooklab.model.errors import ScenarioError
from hooklab.sim import Arrivals, Burst, EndpointSpec, Scenario, named_scenarios, simulate
from hooklab.sim.arrivals import arrival_plan


def test_shipped_scenarios_load_and_run() -> None:
    names = named_scenarios()
    assert {"default", "outage-storm", "flaky-receiver", "key-rotation"} <= set(names)
    for name in names:
        scenario = Scenario.load(name)
        assert scenario.name == name and scenario.description
        # a round trip through the table form keeps it
        assert Scenario.from_mapping(scenario.to_mapping()) == scenario


def test_default_scenario_is_three_endpoints_and_the_diagram_policy() -> None:
    scenario = Scenario.load("default")
    assert [e.id for e in scenario.endpoints] == ["healthy", "flaky", "down"]
    assert scenario.policy == "diagram" and 1000 <= (scenario.messages or 0) <= 10_000
    down = scenario.endpoints[2].receiver.down
    assert down is not None and down.windows[0][1] - down.windows[0][0] == 3600


def test_key_rotation_makes_a_401_window_for_the_late_receiver() -> None:
    scenario = Scenario.load("key-rotation")
    prompt, laggard = scenario.endpoints
    assert prompt.receiver.unauthorized == ()
    assert laggard.receiver.unauthorized == ((4200.0, 7200.0),)
    result = simulate(scenario, seed=0, keep_records=False)
    per = {e.id: e for e in result.summary.endpoints}
    assert per["prompt"].failed == 0 and per["laggard"].failed > 0
    assert simulate(scenario.replace(policy="svix"), seed=0,
                    keep_records=False).summary.failed == 0


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("messages = [", "not valid TOML"),
        ("mesages = 3", "unknown key 'mesages'"),
        ("messages = -1", "messages must be"),
        ("messages = 'many'", "messages must be"),
        ("policy = 'nope'", "unknown retry policy 'nope'"),
        ("[arrivals]\nprocess = 'lumpy'", "arrival process 'lumpy'"),
        ("[arrivals]\nrate = 0", "arrival rate"),
        ("[[endpoints]]\nid = 'a'\nreceiver = { latency = 'x' }", r"endpoints\[0\]\.receiver"),
        ("[[endpoints]]\nid = 'a'\ntimeout = -1", "timeout"),
        ("[[endpoints]]\nid = 'a'\nevents = ['in voice']", "malformed"),
        ("[[endpoints]]\nid = 'a'\nevents = 5", r"endpoints\[0\]\.events must be a pattern"),
        ("[[endpoints]]\nid = 'a'\n[[endpoints]]\nid = 'a'", "unique"),
        ("[[endpoints]]\nid = 'a'\nauto_disable = { after = 3 }", "unknown key 'after'"),
        ("[arrivals]\nprocess = 'trace'\ntrace = 'missing.csv'", "missing.csv"),
        ('[arrivals]\ntrace = "a\\u0000b.csv"', "embedded null byte"),
        ("failure_rate = 2", "failure_rate"),
        ("[[endpoints]]\ntimeout = 5", r"endpoints\[0\]: missing key 'id'"),
    ],
)
def test_bad_scenario_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        scenario = Scenario.load(write(tmp_path, text))
        simulate(scenario, seed=0)


def test_missing_file_and_unknown_name() -> None:
    with pytest.raises(ScenarioError, match="does not exist"):
        Scenario.load("nowhere/x.toml")
    with pytest.raises(ScenarioError, match="named scenarios: .*outage-storm"):
        Scenario.load("no-such-scenario")


def test_a_directory_is_not_called_missing(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="is a directory"):
        Scenario.load(tmp_path)


def test_scenario_level_settings_apply_to_every_endpoint() -> None:
    scenario = Scenario(endpoints=(EndpointSpec("a", policy="svix"), EndpointSpec("b")),
                        max_attempts=3)
    assert [scenario.policy_for(e).max_attempts for e in scenario.endpoints] == [3, 3]
    assert scenario.policy_for(scenario.endpoints[0]).name.startswith("svix")
    forced = scenario.replace(policy="hook0", failure_rate=0.25)
    assert {forced.policy_for(e).schedule()[0] for e in forced.endpoints} == {3.0}
    assert forced.receiver_for(forced.endpoints[1]).status[0].rate == 0.25
    with pytest.raises(ScenarioError, match="unknown scenario field"):
        scenario.replace(colour="blue")


def test_trace_arrivals_replay_a_csv(tmp_path: Path) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text("time,event_type,message_id\n5,invoice.paid,m_b\n1.5,customer.created,"
                     "m_a\n7,invoice.paid,\n", encoding="utf-8")
    path = write(tmp_path, f"[arrivals]\ntrace = '{trace.name}'\n"
                           "[[endpoints]]\nid = 'inv'\nevents = ['invoice.*']\n")
    scenario = Scenario.load(path)
    assert scenario.messages is None and scenario.arrivals.process == "trace"
    result = simulate(scenario, seed=0)
    assert [(d.message_id, d.created_at) for d in result.deliveries] == [
        ("m_b", 5.0), ("msg_0000002", 7.0)]
    assert result.summary.messages == 3


def test_bad_trace_rows_are_named(tmp_path: Path) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text("time\n1\nsoon\n", encoding="utf-8")
    scenario = Scenario(arrivals=Arrivals("trace", trace=str(trace)), messages=None)
    with pytest.raises(ScenarioError, match="line 3"):
        simulate(scenario, seed=0)


def test_a_binary_trace_is_named_not_a_decode_traceback(tmp_path: Path) -> None:
    trace = tmp_path / "t.csv"
    trace.write_bytes(b"\xff\xfe\x00time\n1\n")
    scenario = Scenario(arrivals=Arrivals("trace", trace=str(trace)), messages=None)
    with pytest.raises(ScenarioError, match="not valid CSV"):
        simulate(scenario, seed=0)


def test_arrival_processes() -> None:
    rng = random.Random(0)
    _, stream = arrival_plan(Arrivals("poisson", rate=10.0), messages=20_000, duration=None,
                             rng=rng)
    times = [t for t, _, _ in stream]
    assert times == sorted(times) and abs(times[-1] / 20_000 - 0.1) < 0.005
    _, stream = arrival_plan(Arrivals("poisson", rate=10.0), messages=None, duration=60.0,
                             rng=rng)
    assert all(t < 60 for t, _, _ in stream)
    arrivals = Arrivals("uniform", rate=1.0, bursts=(Burst(2.5, 3),))
    _, stream = arrival_plan(arrivals, messages=5, duration=None, rng=rng)
    assert [t for t, _, _ in stream] == [0.0, 1.0, 2.0, 2.5, 2.5, 2.5, 3.0, 4.0]
    types, stream = arrival_plan(
        Arrivals("burst", event_types=(("a", 3.0), ("b", 1.0))), messages=4000,
        duration=None, rng=rng)
    kinds = [types[k] for _, k, _ in stream]
    assert abs(kinds.count("a") / 4000 - 0.75) < 0.03


def test_absurd_sizes_are_refused_above_the_documented_limits() -> None:
    from hooklab.sim.scenario import MAX_DELIVERIES, MAX_ENDPOINTS

    with pytest.raises(ScenarioError, match="over the limit of 20,000,000 deliveries"):
        Scenario(messages=10**12)
    with pytest.raises(ScenarioError, match="rate × duration"):
        Scenario(messages=None, duration=1e9, arrivals=Arrivals("poisson", rate=100.0))
    many = tuple(EndpointSpec(f"e{i}") for i in range(MAX_ENDPOINTS + 1))
    with pytest.raises(ScenarioError, match="at most 1,000 endpoints"):
        Scenario(endpoints=many)
    assert Scenario(messages=MAX_DELIVERIES).messages == MAX_DELIVERIES  # the limit itself

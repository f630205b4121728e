"""Plots on small known records: markers land where the records say, units and notes fit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from hooklab.model.records import AttemptRecord, DeliveryRecord
from hooklab.sim.plots import (
    StudyPoint,
    closed_form_delivered,
    closed_form_mean_attempts,
    plot_latency,
    plot_load,
    plot_load_comparison,
    plot_study,
    plot_timeline,
    save_figure,
    study_point,
    study_points_from_table,
)
from hooklab.sim.plots.style import OKABE_ITO, OUTCOME_STYLES, outcome_class, time_unit


def att(msg, attempt, start, code=500, error=None, nxt=None, ep="ep_a", dur=0.5):
    outcome = "timeout" if error == "timeout" else ("success" if 200 <= code < 300 else "x")
    return AttemptRecord(msg, ep, attempt, start, start + dur, outcome, code, error, nxt)


def three_messages() -> tuple[list[AttemptRecord], list[DeliveryRecord]]:
    """msg_1: 500 at 0, 200 at 10. msg_2: 429 at 2, timeout at 32, 503 at 92 (failed).
    msg_3: reset at 5, still waiting for its retry at 50 when the run ended."""
    attempts = [
        att("msg_1", 1, 0.0, 500, nxt=10.0),
        att("msg_1", 2, 10.0, 200),
        att("msg_2", 1, 2.0, 429, nxt=32.0),
        att("msg_2", 2, 32.0, 0, "timeout", nxt=92.0, dur=10.0),
        att("msg_2", 3, 92.0, 503),
        att("msg_3", 1, 5.0, 0, "reset", nxt=50.0),
    ]
    deliveries = [
        DeliveryRecord("msg_1", "ep_a", "t", 0.0, "delivered", 2, 10.5),
        DeliveryRecord("msg_2", "ep_a", "t", 2.0, "failed", 3, 92.5),
        DeliveryRecord("msg_3", "ep_a", "t", 5.0, "awaiting_retry", 1, None),
    ]
    return attempts, deliveries


def line(fig: Figure, gid: str):
    found = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == gid]
    assert len(found) == 1, f"expected one line {gid!r}, found {len(found)}"
    return found[0]


def xy(fig: Figure, gid: str) -> list[tuple[float, float]]:
    ln = line(fig, gid)
    return sorted(zip(map(float, ln.get_xdata()), map(float, ln.get_ydata()), strict=True))


def texts(fig: Figure) -> str:
    return " | ".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")))


# --- outcome classes and units ----------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "error", "expected"),
    [(200, None, "2xx"), (204, None, "2xx"), (301, None, "3xx"), (400, None, "4xx"),
     (410, None, "4xx"), (429, None, "429"), (500, None, "5xx"), (503, None, "5xx"),
     (0, "timeout", "timeout"), (0, "reset", "connection"), (0, "connection_refused",
     "connection"), (0, "tls", "connection")],
)  # fmt: skip
def test_outcome_class_follows_status_code_and_error(code, error, expected):
    assert outcome_class(att("m", 1, 0.0, code, error)) == expected


def test_outcome_styles_use_distinct_okabe_ito_colours_and_markers():
    palette = set(OKABE_ITO.values())
    colours = [s.color for s in OUTCOME_STYLES.values()]
    markers = [s.marker for s in OUTCOME_STYLES.values()]
    assert set(colours) <= palette
    assert len(set(colours)) == len(colours)
    assert len(set(markers)) == len(markers)


@pytest.mark.parametrize(
    ("span", "name"),
    [(30.0, "s"), (120.0, "s"), (600.0, "min"), (7200.0, "min"), (3 * 3600.0, "h"),
     (172800.0, "h"), (3 * 86400.0, "days"), (30 * 86400.0, "days")],
)  # fmt: skip
def test_time_unit_reads_from_seconds_to_days(span, name):
    assert time_unit(span).name == name


# --- timeline ---------------------------------------------------------------------------


def test_timeline_puts_each_attempt_marker_at_its_start_on_its_lane():
    attempts, deliveries = three_messages()
    fig = plot_timeline(attempts, deliveries=deliveries)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["msg_1", "msg_2", "msg_3"]
    assert xy(fig, "attempts-5xx") == [(0.0, 0.0), (92.0, 1.0)]
    assert xy(fig, "attempts-2xx") == [(10.0, 0.0)]
    assert xy(fig, "attempts-429") == [(2.0, 1.0)]
    assert xy(fig, "attempts-timeout") == [(32.0, 1.0)]
    assert xy(fig, "attempts-connection") == [(5.0, 2.0)]
    assert ax.get_xlabel() == "time since start (s)"


def test_timeline_markers_are_coloured_and_shaped_by_outcome():
    attempts, deliveries = three_messages()
    fig = plot_timeline(attempts, deliveries=deliveries)
    for cls in ("2xx", "429", "5xx", "timeout", "connection"):
        ln = line(fig, f"attempts-{cls}")
        assert ln.get_color() == OUTCOME_STYLES[cls].color
        assert ln.get_marker() == OUTCOME_STYLES[cls].marker


def test_timeline_draws_backoff_waits_from_answer_to_next_attempt():
    attempts, deliveries = three_messages()
    fig = plot_timeline(attempts, deliveries=deliveries)
    (waits,) = [c for c in fig.axes[0].collections if c.get_gid() == "backoff-waits"]
    assert isinstance(waits, LineCollection)
    segments = sorted(tuple(map(tuple, s.tolist())) for s in waits.get_segments())
    assert segments == [
        ((0.5, 0.0), (10.0, 0.0)),
        ((2.5, 1.0), (32.0, 1.0)),
        ((42.0, 1.0), (92.0, 1.0)),
    ]
    (scheduled,) = [c for c in fig.axes[0].collections if c.get_gid() == "scheduled-waits"]
    assert [s.tolist() for s in scheduled.get_segments()] == [[[5.5, 2.0], [50.0, 2.0]]]


def test_timeline_marks_each_final_state_at_the_lane_end():
    attempts, deliveries = three_messages()
    fig = plot_timeline(attempts, deliveries=deliveries)
    assert xy(fig, "final-delivered") == [(10.5, 0.0)]
    assert xy(fig, "final-failed") == [(92.5, 1.0)]
    assert xy(fig, "final-pending") == [(5.5, 2.0)]
    labels = fig.axes[0].get_legend().get_texts()
    assert "failed (dead-lettered)" in [t.get_text() for t in labels]


def test_timeline_infers_final_states_without_delivery_records():
    attempts, _ = three_messages()
    fig = plot_timeline(attempts)
    assert [y for _, y in xy(fig, "final-delivered")] == [0.0]
    assert [y for _, y in xy(fig, "final-failed")] == [1.0]
    assert [y for _, y in xy(fig, "final-pending")] == [2.0]


def test_timeline_has_title_axis_labels_and_legend():
    attempts, deliveries = three_messages()
    ax = plot_timeline(attempts, deliveries=deliveries, title="three").axes[0]
    assert ax.get_title() == "three"
    assert ax.get_xlabel() and ax.get_ylabel()
    labels = {text.get_text() for text in ax.get_legend().get_texts()}
    assert {"2xx", "5xx", "timeout", "delivered", "failed (dead-lettered)"} <= labels


def test_timeline_switches_to_hours_and_days_for_long_runs():
    day = 86400.0
    attempts = [att("m", 1, 0.0, 500, nxt=2 * day), att("m", 2, 2 * day, 500, nxt=4 * day),
                att("m", 3, 4 * day, 200)]  # fmt: skip
    fig = plot_timeline(attempts)
    assert fig.axes[0].get_xlabel() == "time since start (days)"
    assert [x for x, _ in xy(fig, "attempts-5xx")] == [0.0, 2.0]
    assert xy(fig, "attempts-2xx") == [(4.0, 0.0)]


def test_timeline_of_unix_times_starts_at_the_first_attempt():
    t0 = 1_700_000_000.0
    fig = plot_timeline([att("m", 1, t0, 500, nxt=t0 + 60), att("m", 2, t0 + 60, 200)])
    assert fig.axes[0].get_xlabel() == "time since first attempt (s)"
    assert [x for x, _ in xy(fig, "attempts-5xx") + xy(fig, "attempts-2xx")] == [0.0, 60.0]


def test_timeline_shades_outage_windows():
    attempts, deliveries = three_messages()
    fig = plot_timeline(attempts, deliveries=deliveries, outages=[(20.0, 80.0)])
    spans = [p for p in fig.axes[0].patches if p.get_gid() == "outage"]
    assert len(spans) == 1
    left, width = spans[0].get_x(), spans[0].get_width()
    assert (left, left + width) == (20.0, 80.0)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "outage (receiver down)" in legend


def test_timeline_endpoint_filter_keeps_one_endpoint():
    attempts = [att("m1", 1, 0.0, 200, ep="ep_a"), att("m1", 1, 1.0, 500, ep="ep_b")]
    fig = plot_timeline(attempts, endpoint="ep_b")
    assert xy(fig, "attempts-5xx") == [(1.0, 0.0)]
    assert not [ln for ln in fig.axes[0].get_lines() if ln.get_gid() == "attempts-2xx"]


def test_timeline_samples_thousands_of_deliveries_and_says_so():
    attempts = [att(f"m{i:04d}", 1, float(i), 200) for i in range(3000)]
    attempts += [att("m_dead", 1, 1500.5, 500)]
    fig = plot_timeline(attempts, max_messages=40)
    ax = fig.axes[0]
    shown = xy(fig, "attempts-2xx") + xy(fig, "attempts-5xx")
    assert len(shown) == 40
    assert xy(fig, "attempts-5xx"), "the one dead letter is kept in the sample"
    notes = [t for t in ax.texts if t.get_gid() == "sampling-note"]
    assert len(notes) == 1
    assert "40 of 3,001 deliveries" in notes[0].get_text()


def test_timeline_without_sampling_has_no_note():
    attempts, deliveries = three_messages()
    fig = plot_timeline(attempts, deliveries=deliveries)
    assert not [t for t in fig.axes[0].texts if t.get_gid() == "sampling-note"]


def test_timeline_endpoint_lanes_stack_messages_within_each_band():
    attempts = [att(f"m{i}", 1, float(i), 200, ep=ep) for ep in ("ep_a", "ep_b")
                for i in range(5)]  # fmt: skip
    fig = plot_timeline(attempts, lanes="endpoint")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["ep_a", "ep_b"]
    ys = sorted(y for _, y in xy(fig, "attempts-2xx"))
    assert all(-0.5 < y < 0.5 for y in ys[:5]) and all(0.5 < y < 1.5 for y in ys[5:])
    assert len(set(ys)) == 10


def test_timeline_rejects_bad_arguments():
    attempts, _ = three_messages()
    with pytest.raises(ValueError, match="lanes"):
        plot_timeline(attempts, lanes="message")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_messages"):
        plot_timeline(attempts, max_messages=0)


# --- load -------------------------------------------------------------------------------


def test_load_counts_attempts_per_second_per_endpoint():
    attempts = [att(f"m{i}", 1, 0.1 * i, 200) for i in range(10)]  # 10 in [0, 1)
    attempts += [att(f"n{i}", 1, 5.0 + 0.5 * i, 200, ep="ep_b") for i in range(4)]  # [5, 7)
    fig = plot_load(attempts, bin_s=1.0)
    top = fig.axes[0]
    (a_line,) = [p for p in top.patches if p.get_gid() == "load-ep_a"]
    (b_line,) = [p for p in top.patches if p.get_gid() == "load-ep_b"]
    a_values, edges = a_line.get_data().values, a_line.get_data().edges
    b_values = b_line.get_data().values
    assert edges[0] == 0.0 and edges[1] == 1.0
    assert a_values[0] == 10.0 and a_values[1:].sum() == 0.0
    assert list(b_values[5:7]) == [2.0, 2.0]
    assert top.get_ylabel() == "attempts per second"
    assert [t.get_text() for t in top.get_legend().get_texts()] == ["ep_a", "ep_b"]


@pytest.mark.parametrize(("options", "message"), [
    ({"until": math.inf}, "until must be a positive"),
    ({"until": 1e300}, "more than 1,000,000"),
    ({"bin_s": 1e-9}, "more than 1,000,000"),
    ({"bin_s": math.inf}, "bin_s must be positive"),
])
def test_load_refuses_bins_it_cannot_draw(options, message):
    from hooklab.model.errors import ConfigError

    attempts = [att(f"m{i}", 1, 10.0 * i, 200) for i in range(10)]
    with pytest.raises(ConfigError, match=message):
        plot_load(attempts, **options)


def test_load_backlog_counts_deliveries_created_and_not_finished():
    deliveries = [
        DeliveryRecord("m1", "ep_a", "t", 0.0, "delivered", 1, 2.5),
        DeliveryRecord("m2", "ep_a", "t", 1.0, "failed", 3, 4.5),
        DeliveryRecord("m3", "ep_a", "t", 1.5, "pending", 1, None),
    ]
    attempts = [att(d.message_id, 1, d.created_at, 200) for d in deliveries]
    fig = plot_load(attempts, deliveries=deliveries, bin_s=1.0)
    (backlog,) = [p for p in fig.axes[1].patches if p.get_gid() == "backlog"]
    values = backlog.get_data().values
    # bins [0,1) [1,2) [2,3) [3,4) [4,5): peak backlog in each
    assert list(values[:5]) == [1.0, 3.0, 3.0, 2.0, 2.0]
    assert list(values[5:]) == [1.0] * len(values[5:])
    assert fig.axes[1].get_ylabel() == "deliveries waiting"


def test_load_shows_unjittered_retry_waves_as_peaks():
    # 100 deliveries fail together at t=0 and retry together at 60 and 300 s
    attempts = []
    for i in range(100):
        attempts += [att(f"m{i}", 1, 0.0, 503, nxt=60.0), att(f"m{i}", 2, 60.0, 503, nxt=300.0),
                     att(f"m{i}", 3, 300.0, 200)]  # fmt: skip
    fig = plot_load(attempts, bin_s=10.0, outages=[(0.0, 250.0)])
    (load,) = [p for p in fig.axes[0].patches if p.get_gid() == "load-ep_a"]
    values, edges = load.get_data().values, load.get_data().edges
    peaks = sorted(edges[np.argsort(values)[-3:]].tolist())
    assert peaks == [0.0, 1.0, 5.0]  # minutes: bins at 0, 60 s and 300 s
    assert fig.axes[1].get_xlabel() == "time since start (min)"
    assert len([p for p in fig.axes[0].patches if p.get_gid() == "outage"]) == 1
    fig = plot_load(attempts, bin_s=10.0, outages=[("ep_a", 0.0, 250.0)])
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["ep_a", "outage (receiver down): ep_a"]


def test_load_until_cuts_the_time_axis_and_ignores_later_records():
    attempts = [att("m1", 1, 10.0, 503, nxt=5000.0), att("m1", 2, 5000.0, 200)]
    fig = plot_load(attempts, bin_s=60.0, until=600.0)
    (load,) = [p for p in fig.axes[0].patches if p.get_gid() == "load-ep_a"]
    data = load.get_data()
    assert data.edges[-1] == 10.0  # minutes
    assert data.values.sum() * 60.0 == 1.0  # only the attempt at 10 s
    (backlog,) = [p for p in fig.axes[1].patches if p.get_gid() == "backlog"]
    assert set(backlog.get_data().values.tolist()) == {1.0}


def test_load_comparison_puts_each_run_in_its_own_panel_on_shared_axes():
    wave = [att(f"m{i}", 1, 0.0, 503) for i in range(30)]
    spread = [att(f"m{i}", 1, float(i), 503) for i in range(30)]
    fig = plot_load_comparison({"no jitter": wave, "jitter": spread}, bin_s=1.0)
    first, second = fig.axes
    assert first.get_shared_y_axes().joined(first, second)
    (a,) = [p for p in first.patches if p.get_gid() == "load-no jitter"]
    (b,) = [p for p in second.patches if p.get_gid() == "load-jitter"]
    assert a.get_data().values.max() == 30.0 and b.get_data().values.max() == 1.0
    legend = [t.get_text() for t in first.get_legend().get_texts()]
    assert legend == ["no jitter: peak 30/s"]
    late = spread + [att(f"r{i}", 2, 40.0, 200) for i in range(5)]
    fig = plot_load_comparison({"late": late}, bin_s=1.0, outages=[(0.0, 35.0)])
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[0] == "late: peak 5/s, after the outage 5/s"


# --- latency ----------------------------------------------------------------------------


def test_latency_cdf_steps_through_each_delivery_and_marks_p50_p99():
    fast = [DeliveryRecord(f"m{i}", "e", "t", 0.0, "delivered", 1, float(i + 1))
            for i in range(4)]  # fmt: skip
    slow = fast[:2] + [DeliveryRecord("m9", "e", "t", 0.0, "failed", 6, 100.0)] * 2
    fig = plot_latency({"fast": fast, "slow": slow}, log=False)
    ax = fig.axes[0]
    cdf = line(fig, "cdf-fast")
    assert list(cdf.get_xdata()) == [1.0, 1.0, 2.0, 3.0, 4.0]
    assert list(cdf.get_ydata()) == [0.0, 25.0, 50.0, 75.0, 100.0]
    assert list(line(fig, "cdf-slow").get_ydata()) == [0.0, 25.0, 50.0]  # tops at 50 %
    assert xy(fig, "p50-fast") == [(2.5, 50.0)]
    p99x, p99y = xy(fig, "p99-fast")[0]
    assert p99x == pytest.approx(3.97) and p99y == pytest.approx(99.0)
    # half of slow's deliveries failed: its median delivery never arrives, so no marker
    assert not [ln for ln in ax.get_lines() if ln.get_gid() in ("p50-slow", "p99-slow")]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["fast: p50 2.5 s, p99 3.97 s", "slow: p50 never, p99 never"]
    assert ax.get_title() and ax.get_xlabel() == "time to delivery t (s)"


def test_latency_uses_a_log_axis_with_readable_durations_for_wide_spans():
    runs = [DeliveryRecord("a", "e", "t", 0.0, "delivered", 1, 0.2),
            DeliveryRecord("b", "e", "t", 0.0, "delivered", 5, 7200.0)]  # fmt: skip
    ax = plot_latency(runs).axes[0]
    assert ax.get_xscale() == "log"
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert "1 s" in ticks and "1 h" in ticks


# --- failure-rate study -----------------------------------------------------------------


def test_closed_forms_match_hand_computed_values():
    assert float(closed_form_delivered(0.2, 3)) == pytest.approx(1 - 0.008)
    assert float(closed_form_mean_attempts(0.2, 3)) == pytest.approx(1 + 0.2 + 0.04)
    assert float(closed_form_mean_attempts(0.0, 6)) == 1.0
    assert float(closed_form_mean_attempts(1.0, 6)) == 6.0


def test_study_point_summarises_one_run():
    run = [DeliveryRecord("a", "e", "t", 0.0, "delivered", 1, 1.0),
           DeliveryRecord("b", "e", "t", 0.0, "delivered", 3, 181.0),
           DeliveryRecord("c", "e", "t", 0.0, "failed", 6, 1900.0),
           DeliveryRecord("d", "e", "t", 0.0, "delivered", 2, 61.0)]  # fmt: skip
    point = study_point("diagram", 0.5, run)
    assert point.delivered_fraction == 0.75
    assert point.mean_attempts == 3.0
    assert point.p99_s == pytest.approx(np.percentile([1.0, 181.0, 61.0], 99))


def test_study_points_from_a_sweep_table_pool_replications():
    rows = [
        {"policy": "svix", "failure_rate": "0.5", "replication": 0, "deliveries": 100,
         "delivered": 99, "attempts": 200, "time_to_delivery_delivered_only_s_p99": 300.0},
        {"policy": "svix", "failure_rate": "0.5", "replication": 1, "deliveries": 100,
         "delivered": 97, "attempts": 190, "time_to_delivery_delivered_only_s_p99": 500.0},
    ]  # fmt: skip
    (point,) = study_points_from_table(rows)
    assert point == StudyPoint("svix", 0.5, 0.98, 1.95, 400.0, None)
    with pytest.raises(ValueError, match="failure_rate"):
        study_points_from_table([{"policy": "svix"}])


def test_study_draws_one_line_per_policy_and_the_closed_form_for_its_k():
    rates = [0.0, 0.3, 0.6, 0.9]
    points = [StudyPoint(name, p, 1 - p**k, (1 - p**k) / (1 - p), 60.0 * (1 + p), k)
              for name, k in (("a", 3), ("b", 6)) for p in rates]  # fmt: skip
    fig = plot_study(points)
    assert len(fig.axes) == 3
    assert [x for x, _ in xy(fig, "delivered-a (K=3)")] == rates
    assert [y for _, y in xy(fig, "attempts-b (K=6)")] == pytest.approx(
        [(1 - p**6) / (1 - p) for p in rates]
    )
    closed = line(fig, "closed-delivered-a (K=3)")
    gx, gy = np.asarray(closed.get_xdata()), np.asarray(closed.get_ydata())
    assert gx[0] == 0.0 and gx[-1] == 0.9
    assert gy == pytest.approx(1 - gx**3)
    closed_b = line(fig, "closed-attempts-b (K=6)")
    bx = np.asarray(closed_b.get_xdata())
    assert np.asarray(closed_b.get_ydata()) == pytest.approx((1 - bx**6) / (1 - bx))
    for ax in fig.axes:
        assert ax.get_xlabel() == "receiver failure rate p" and ax.get_ylabel()
    assert fig.legends and "closed form" in texts(fig)


def test_study_knows_k_of_named_presets():
    points = [StudyPoint("svix", p, 1.0, 1.0, 1.0) for p in (0.0, 0.5)]
    fig = plot_study(points)
    assert line(fig, "closed-delivered-svix (K=8)")


def test_study_without_closed_form_draws_only_the_data():
    points = [StudyPoint("custom", p, 1.0, 1.0, math.nan) for p in (0.0, 0.5)]
    fig = plot_study(points, closed_form=False)
    assert not [ln for ax in fig.axes for ln in ax.get_lines() if "closed" in str(ln.get_gid())]


# --- saving -----------------------------------------------------------------------------


def test_save_figure_writes_png_and_svg_and_rejects_other_suffixes(tmp_path):
    attempts, deliveries = three_messages()
    fig = plot_timeline(attempts, deliveries=deliveries)
    png = save_figure(fig, tmp_path / "t.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = save_figure(fig, tmp_path / "t.svg")
    assert b"<svg" in svg.read_bytes()[:500]
    from hooklab.model.errors import ConfigError

    with pytest.raises(ConfigError, match="use one of"):
        save_figure(fig, tmp_path / "t.jpg")
    with pytest.raises(ConfigError, match="missing"):
        save_figure(fig, tmp_path / "nowhere" / "t.png")
    (tmp_path / "taken.png").mkdir()  # unwritable, even for root
    with pytest.raises(ConfigError, match="cannot write"):
        save_figure(fig, tmp_path / "taken.png")


def test_plots_never_touch_pyplot_state():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    attempts, deliveries = three_messages()
    plot_timeline(attempts, deliveries=deliveries)
    plot_load(attempts, deliveries=deliveries)
    plot_latency({"p": deliveries})
    assert plt.get_fignums() == before


def test_timeline_leaves_unknown_endings_unmarked_when_not_inferring():
    attempts = [att("m1", 1, 0.0, 500), att("m2", 1, 1.0, 200)]  # as a receiver's log sees them
    fig = plot_timeline(attempts, infer_final=False)
    assert xy(fig, "final-delivered") == [(1.5, 1.0)]
    gids = {ln.get_gid() for ln in fig.axes[0].get_lines()}
    assert "final-failed" not in gids and "final-pending" not in gids

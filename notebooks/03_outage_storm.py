# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Outage storm: synchronized retries, and how jitter spreads them
#
# The shipped `outage-storm` scenario: a burst of 10,000 messages arrives as the receiver
# goes down for 40 minutes; when it comes back it can serve only 50 requests at once
# (0.5 s each, about 100 per second) and answers 503 past that. Background traffic keeps
# arriving at one message per second for two hours.
#
# Every message of the burst fails at the same moment, so with an un-jittered schedule
# they all retry at the same moments too: 5 s later, 305 s later, 2105 s later... Each
# wave hits the recovering receiver at once, far above its capacity, and most of the wave
# fails again. Jitter spreads a wave over a window, so the receiver sees a trickle instead.
# Below, the retry presets from the facts file are run on the same storm, with and without
# jitter.

# %%
# %matplotlib inline
import pandas as pd

from hooklab.model.presets import get_policy
from hooklab.sim import Scenario, simulate
from hooklab.sim.plots import plot_latency, plot_load, plot_load_comparison, plot_timeline

storm = Scenario.load("outage-storm")
print(storm.description)

# %% [markdown]
# ## Same schedule, with and without jitter
#
# Two schedules from the facts file, each with and without ±20 % proportional jitter:
# the Standard Webhooks example (which ships without jitter) and Svix (which ships with it).

# %%
POLICIES = {
    "standard-webhooks (no jitter)": "standard-webhooks",
    "standard-webhooks + ±20 % jitter": {"preset": "standard-webhooks", "jitter": "proportional",
                                         "jitter_fraction": 0.2},
    "svix without jitter": {"preset": "svix", "jitter": "none"},
    "svix (±20 % jitter)": "svix",
}
results = {label: simulate(storm.replace(policy=policy), seed=0)
           for label, policy in POLICIES.items()}
outages = next(iter(results.values())).outages
plot_load_comparison({label: r.attempts for label, r in results.items()}, outages=outages,
                     until=3 * 3600, bin_s=30,
                     title="Attempts reaching the receiver, first 3 hours of the storm")

# %% [markdown]
# Un-jittered schedules arrive as thin spikes of thousands of attempts at once (at 5 s,
# 305 s, 2105 s and 9305 s); with jitter the same attempts are spread over minutes. The
# spikes after the outage find a receiver that can take about 100 requests per second.

# %% [markdown]
# ## The load plot: the receiver and the sender's backlog
#
# For the un-jittered Standard Webhooks schedule: attempts per second reaching the
# receiver, and below, how many deliveries the sender still holds (created, not yet
# delivered or dead-lettered).

# %%
sw = results["standard-webhooks (no jitter)"]
plot_load(sw.attempts, deliveries=sw.deliveries, outages=sw.outages, until=3 * 3600,
          title="standard-webhooks, no jitter: load and backlog")

# %%
sv = results["svix (±20 % jitter)"]
plot_load(sv.attempts, deliveries=sv.deliveries, outages=sv.outages, until=3 * 3600,
          title="svix, ±20 % jitter: load and backlog")

# %% [markdown]
# ## Inside a wave
#
# A few messages of the burst, from the first delivered to the last, attempt by attempt.
# Without jitter their attempts line up vertically: the same instants for every message,
# and after the outage most of each wave meets a full receiver (503) and waits again.

# %%
in_burst = [d for d in sw.deliveries if d.created_at == 0.0]
in_burst.sort(key=lambda d: d.finished_at or 0.0)
burst = {d.message_id for d in in_burst[:: len(in_burst) // 11][:12]}  # early to late
plot_timeline([a for a in sw.attempts if a.message_id in burst],
              deliveries=[d for d in sw.deliveries if d.message_id in burst],
              outages=sw.outages, title="12 messages of the burst, standard-webhooks (no jitter)")

# %% [markdown]
# ## Every preset of the facts file on the same storm

# %%
rows = []
for name in ["diagram", "standard-webhooks", "svix", "hook0", "convoy", "convoy-linear",
             "outpost", "stripe"]:
    policy = get_policy(name)
    s = simulate(storm.replace(policy=name), seed=0).summary.to_dict()
    rows.append({
        "preset": name,
        "jitter": type(policy.jitter).__name__.replace("Jitter", "").lower(),
        "attempts (K)": policy.max_attempts,
        "delivered": s["delivered"],
        "failed": s["failed"],
        "pending": s["pending"],
        "attempts": s["attempts"],
        "peak attempts/s": s["peak_attempts_per_s"],
        # over all deliveries a failed one never arrives, so that p99 is often "never";
        # this column is the p99 of the delivered ones only, and says so
        "p99 time to delivery, delivered only (h)": round(
            s["time_to_delivery_delivered_only_s"]["p99"] / 3600, 2),
    })
pd.DataFrame(rows).set_index("preset")

# %% [markdown]
# ## How late, preset by preset
#
# Each curve is the share of *all* deliveries delivered within *t*: it levels off at the
# delivered fraction. The p50 and p99 in the legend count every delivery, so a failed
# one counts as never delivered and a percentile above the curve's level reads "never".
# A schedule that gives up early can look fast in delivered-only percentiles while it
# delivers less: compare the curves' heights, not only their left edges.

# %%
plot_latency({label: r.deliveries for label, r in results.items()},
             title="Time to delivery through the storm")

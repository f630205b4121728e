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
# # Retry timelines: the diagram's policy against a flaky receiver
#
# The source diagram says a failed delivery goes to a retry queue, waits "with backoff" and
# is retried "up to 5 times". hooklab's `diagram` preset makes that concrete: 6 attempts,
# 60 s doubling, no jitter. Before trusting it, look at what it does to each message when
# the receiver misbehaves.
#
# Everything below reads the **records** of a simulated run (one `AttemptRecord` per
# attempt, one `DeliveryRecord` per message and endpoint); the plots never look at the
# simulator itself.

# %%
# %matplotlib inline
from hooklab.model.presets import format_hms, get_policy
from hooklab.sim import Scenario, simulate
from hooklab.sim.plots import plot_latency, plot_timeline

policy = get_policy("diagram")
print(f"{policy.name}: {policy.max_attempts} attempts, waits {policy.schedule()} s")
print("attempt times:", [format_hms(t) for t in policy.attempt_times()])

# %% [markdown]
# ## A flaky receiver
#
# One endpoint whose receiver answers 500 to 35 % of requests, 429 with `Retry-After: 120`
# to 5 %, hangs past the sender's 15 s timeout on 5 % and resets the connection on 3 %:
# nearly half of all attempts fail.
# 300 messages arrive over ten minutes.

# %%
scenario = Scenario.from_mapping({
    "name": "flaky-diagram",
    "messages": 300,
    "policy": "diagram",
    "arrivals": {"process": "poisson", "rate": 0.5},
    "endpoints": [{
        "id": "flaky",
        "timeout": 15,
        "receiver": {"status": ["500:0.35", "429:0.05:120"], "timeout": 0.05, "reset": 0.03,
                     "latency": "0.2:0.1"},
    }],
})
result = simulate(scenario, seed=7)
summary = result.summary.to_dict()
{k: summary[k] for k in ("messages", "delivered", "failed", "attempts", "amplification",
                         "time_to_delivery_s", "time_to_delivery_delivered_only_s")}

# %% [markdown]
# ## Every message on one time axis
#
# One lane per message. Markers are attempts, coloured and shaped by outcome; grey lines
# are the backoff waits; the check mark or the cross at the end of a lane says whether the
# message was delivered or dead-lettered. 300 lanes would be unreadable, so the plot shows
# an even sample and says so in its corner (dead letters are always kept in the sample).

# %%
plot_timeline(result.attempts, deliveries=result.deliveries, max_messages=30,
              title="Diagram policy vs a flaky receiver (30 of 300 messages)")

# %% [markdown]
# ## Individual messages
#
# The message that needed the most attempts, attempt by attempt (the waits double: 60 s,
# 120 s, 240 s...; after a 429 the sender may wait longer, as the policy says).

# %%
import pandas as pd  # noqa: E402

attempts = pd.DataFrame(result.attempts, columns=result.attempts[0]._fields)
worst = attempts.groupby("message_id")["attempt"].max().idxmax()
attempts[attempts.message_id == worst][["attempt", "start", "end", "outcome", "status_code",
                                        "error", "next_attempt_at"]]

# %% [markdown]
# The dead-lettered messages, and a close-up of a handful of them next to a few that made it:

# %%
dead = [d.message_id for d in result.deliveries if d.status == "failed"]
print(f"{len(dead)} dead-lettered:", dead[:10])
few = set(dead[:3]) | {worst} | {d.message_id for d in result.deliveries[:3]}
plot_timeline([a for a in result.attempts if a.message_id in few],
              deliveries=[d for d in result.deliveries if d.message_id in few],
              title="A few messages, up close")

# %% [markdown]
# ## How late are the delivered ones?
#
# The share of messages delivered within a time *t*; the curve levels off at the delivered
# fraction. Most are delivered at once; retried ones arrive minutes later.

# %%
plot_latency({"diagram": result.deliveries}, title="Time to delivery, diagram policy")

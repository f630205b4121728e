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
# # Receiver conformance: the reference receiver against a broken one
#
# The conformance harness sends a receiver property-based deliveries (Hypothesis builds
# and shrinks the examples) and checks one rule per check: reject a missing or forged
# signature with 401, reject stale and future timestamps, accept rotated signature lists,
# answer malformed JSON with 400, verify before parsing and over the raw bytes, survive
# malformed headers, acknowledge within the sender's timeout, process a redelivered
# message once.
#
# Both receivers run **in process** (ASGI apps called through httpx): no port, no network.

# %%
# %matplotlib inline
import base64
import hashlib
import hmac
import json
import logging

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from hooklab.harness.conformance import run_checks
from hooklab.harness.receiver import create_receiver
from hooklab.sim.plots.style import OKABE_ITO

logging.getLogger("hooklab.receiver").setLevel(logging.ERROR)  # routine processing notes
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks test key

# %% [markdown]
# ## A broken receiver
#
# Written the way many receivers are, with bugs from the facts file's list: it parses
# before verifying, reads headers without checking they are there, never looks at the
# timestamp's age, and checks only the first signature of a rotated list. It does verify
# the raw bytes (the most frequent bug, verifying a re-serialized body, is left out so the
# other findings show).

# %%
KEY = base64.b64decode(SECRET.removeprefix("whsec_"))


async def webhook(request):
    body = await request.body()
    json.loads(body)  # parses before verifying: malformed JSON -> 500, not 400
    signed = f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}."
    digest = hmac.new(KEY, signed.encode() + body, hashlib.sha256).digest()
    first = request.headers["webhook-signature"].split(" ")[0]  # only the first one
    if first.partition(",")[2] != base64.b64encode(digest).decode():
        return Response(status_code=401)
    return Response(status_code=200)


broken = Starlette(routes=[Route("/", webhook, methods=["POST"])])

# %% [markdown]
# ## Run the checks against both
#
# A fixed seed and a few examples per check keep the run short and reproducible.

# %%
reports = {
    "reference": run_checks(create_receiver(SECRET), secret=SECRET, max_examples=15, seed=1,
                            timeout=2.0, settle=0.2),
    "broken": run_checks(broken, secret=SECRET, max_examples=15, seed=1, timeout=2.0,
                         settle=0.2),
}
{name: report.counts() for name, report in reports.items()}

# %% [markdown]
# ## Findings
#
# One row per check and receiver. A failed check names what went wrong; the harness also
# keeps the minimal example Hypothesis shrank to and a `curl` command that replays it.

# %%
rows = []
for receiver, report in reports.items():
    for result in report.results:
        finding = result.findings[0] if result.findings else None
        rows.append({"check": result.name, "receiver": receiver, "status": result.status,
                     "finding": finding.title if finding else (result.reason or "")})
findings = pd.DataFrame(rows)
findings.pivot(index="check", columns="receiver", values="status")

# %%
findings[findings.status == "failed"][["receiver", "check", "finding"]].reset_index(drop=True)

# %% [markdown]
# The first failure of the broken receiver in full, with what reproduces it:

# %%
failed = reports["broken"].failed
if failed:
    first = failed[0].findings[0]
    print(first.title, "\n", first.message, "\n\nexample:", first.example, "\n\n", first.curl)

# %% [markdown]
# ## At a glance

# %%
STATUS_COLOURS = {"passed": OKABE_ITO["bluish_green"], "failed": OKABE_ITO["vermillion"],
                  "inconclusive": OKABE_ITO["orange"], "skipped": "#BBBBBB",
                  "blocked": OKABE_ITO["reddish_purple"]}
checks = [r.name for r in reports["reference"].results]
fig = Figure(figsize=(6.5, 0.9 + 0.32 * len(checks)), layout="constrained")
ax = fig.add_subplot()
for x, report in enumerate(reports.values()):
    for y, result in enumerate(report.results):
        colour = STATUS_COLOURS[result.status]
        ax.add_patch(Rectangle((x - 0.45, y - 0.4), 0.9, 0.8, color=colour))
        ax.text(x, y, result.status, ha="center", va="center", fontsize=8,
                color="white" if result.status != "skipped" else "black")
ax.set_xlim(-0.5, len(reports) - 0.5)
ax.set_ylim(len(checks) - 0.5, -0.5)
ax.set_xticks(range(len(reports)), list(reports))
ax.set_yticks(range(len(checks)), checks, fontsize=8)
ax.set_xlabel("receiver")
ax.set_ylabel("conformance check")
ax.set_title("Conformance: reference vs broken receiver")
ax.legend(handles=[Patch(color=c, label=s) for s, c in STATUS_COLOURS.items()],
          loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
fig  # noqa: B018 (the cell shows the figure)

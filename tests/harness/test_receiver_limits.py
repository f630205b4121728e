"""Served receivers under attack, in a subprocess on loopback: peak memory stays bounded
under hundreds of parallel large unsigned bodies, and slowloris connections are closed by
the header deadline. (Before the limits: 31 MiB → 574 MiB peak for 200 × 5 MiB bodies,
691 MiB chunked; 1,500 slowloris connections all still open after 45 s.)"""

from __future__ import annotations

import resource
import time

import pytest
from attack import flood, memory, serving, slowloris

pytestmark = [pytest.mark.network, pytest.mark.slow]

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MiB = 1024 * 1024
#: What the attack may add to the idle process's memory: five times the default
#: max_buffered (16 MiB), for the bodies held, their copies and the server's socket buffers.
BOUND = 80 * MiB


@pytest.mark.parametrize("kind", ["receiver", "flaky"])
def test_peak_rss_stays_under_idle_plus_80_mib_under_parallel_large_unsigned_bodies(kind):
    argv = ["serve", kind, *(["--quiet"] if kind == "receiver" else [])]
    with serving(argv, env={"HOOKLAB_SECRET": SECRET}) as (url, proc):
        time.sleep(0.3)
        idle = memory(proc.pid)["VmRSS"]
        declared = flood(url, connections=200, size=5 * MiB, early=5)  # 413 from the length
        answers = declared + flood(url, connections=200, size=MiB)  # at the cap: read, or 503
        answers += flood(url, connections=200, size=5 * MiB, chunked=True)  # no length
        peak = memory(proc.pid)["VmHWM"]
    assert proc.returncode == 0
    assert peak - idle < BOUND, f"peak {peak / MiB:.0f} MiB from idle {idle / MiB:.0f} MiB"
    # The limits were what held: a declared oversize body is refused from its length, before
    # its bytes are sent (a client that sent them anyway could lose the 413 to the reset).
    assert declared == {"413": 200}, declared
    assert answers["503"] > 0, answers
    assert "200" not in answers or kind == "flaky"  # nothing unsigned reached the lane
    assert not set(answers) - {"200", "401", "413", "503", "closed"}, answers


def test_fifteen_hundred_slowloris_connections_are_closed_by_the_header_deadline():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 3500:
        pytest.skip(f"needs 3,500 file descriptors, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 3500), hard))  # the server inherits
    try:
        with serving(["serve", "receiver", "--quiet"], env={"HOOKLAB_SECRET": SECRET}) as (
                url, proc):
            open_for = slowloris(url, connections=1500, seconds=40)
            still_serving = proc.poll() is None
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert still_serving
    assert max(open_for) < 20, f"{sum(t >= 20 for t in open_for)} connections outlived 20 s"
    assert min(open_for) >= 8  # the default header deadline is 10 s: none was refused early

"""Benchmark: the durable outbox worker against a bare httpx loop, in the same run.

Both deliver the same number of messages (default 10,000) to the reference receiver,
served by uvicorn on loopback in its own process, at the same
concurrency, each request signed with Standard Webhooks ``v1``:

- **bare loop**: ``concurrency`` asyncio tasks sign and post with one ``httpx.AsyncClient``,
  keeping nothing;
- **worker**: the messages are queued in an outbox on disk (SQLite, WAL), then a
  :class:`~hooklab.harness.outbox.worker.Worker` claims, posts and records every attempt and state
  change, durably, until idle.

It prints deliveries per second for both, round by round (a bare run, then a worker run,
back to back, so both see the same load on the machine), the best of each and their
ratios (the target: the worker reaches at least 50 % of the bare loop), plus the enqueue
rate. Run it with::

    python -m hooklab.harness.outbox.bench [--messages 10000] [--concurrency 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

__all__ = ["bare_loop", "main", "start_receiver", "worker_run"]

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


_SERVE = """
import os, socket, uvicorn
from hooklab.harness.receiver import create_receiver
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
sock.bind(("127.0.0.1", 0))
sock.listen(2048)
print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
config = uvicorn.Config(create_receiver(os.environ["HOOKLAB_SECRET"]), log_level="warning",
                        access_log=False, http="h11", lifespan="on")
uvicorn.Server(config).run(sockets=[sock])
"""


def start_receiver() -> tuple[subprocess.Popen[str], str]:
    """Serve the reference receiver with uvicorn in its own process on a free loopback
    port; returns the process and the URL.

    The listening socket is made with ``IPPROTO_TCP``, so asyncio sets ``TCP_NODELAY`` on
    each connection (without it, delayed ACKs stall every keep-alive request ~40 ms).
    The secret goes in the environment (``HOOKLAB_SECRET``): ``argv`` is visible in ``ps``.
    """
    process = subprocess.Popen([sys.executable, "-c", _SERVE], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True,
                               env={**os.environ, "HOOKLAB_SECRET": SECRET})
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("http://"):
        process.kill()
        raise RuntimeError(f"the receiver did not start: {line!r}")
    return process, line.strip() + "/webhook"


def _body(i: int) -> bytes:
    return b'{"type":"invoice.paid","data":{"n":%d,"amount":4200}}' % i


async def bare_loop(url: str, n: int, concurrency: int) -> float:
    """Post ``n`` signed messages with a bare httpx loop; returns deliveries per second."""
    import httpx

    from hooklab.model.signing import get_scheme

    scheme = get_scheme("standard")
    ids = iter(range(n))
    delivered = 0
    limits = httpx.Limits(max_connections=concurrency,
                          max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, follow_redirects=False,
                                 trust_env=False) as client:
        async def task() -> None:
            nonlocal delivered
            for i in ids:
                body = _body(i)
                headers = {"content-type": "application/json"}
                headers.update(scheme.sign(message_id=f"bare_{i}", timestamp=int(time.time()),
                                           body=body, secrets=[SECRET]))
                answer = await client.post(url, content=body, headers=headers, timeout=15.0)
                delivered += 200 <= answer.status_code < 300

        start = time.perf_counter()
        await asyncio.gather(*(task() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    if delivered != n:
        raise RuntimeError(f"bare loop: only {delivered} of {n} delivered")
    return n / elapsed


def worker_run(url: str, n: int, concurrency: int, db: str,
               synchronous: str = "NORMAL") -> tuple[float, float]:
    """Queue ``n`` messages in an outbox at ``db`` (committed with ``synchronous=FULL``)
    and deliver them with a worker committing with ``synchronous``; returns (enqueued per
    second, deliveries per second)."""
    from hooklab.model.endpoints import Endpoint
    from hooklab.model.records import Status

    from ..sender import Message
    from ..transport.ssrf import SsrfGuard
    from .outbox import Outbox
    from .worker import WorkerConfig, run_worker

    with Outbox(db) as outbox:
        outbox.registry.register(Endpoint("ep_bench", url, (SECRET,)))
        start = time.perf_counter()
        for first in range(0, n, 1000):
            outbox.send_many([Message(f"msg_{i}", "invoice.paid", _body(i))
                              for i in range(first, min(n, first + 1000))], now=time.time())
        enqueue = n / (time.perf_counter() - start)
        config = WorkerConfig(concurrency=concurrency, until_idle=True,
                              synchronous=synchronous, guard=SsrfGuard(allow_private=True))
        start = time.perf_counter()
        run_worker(outbox, config, signals=False)
        elapsed = time.perf_counter() - start
        delivered = outbox.store.counts()[Status.DELIVERED]
    if delivered != n:
        raise RuntimeError(f"worker: only {delivered} of {n} delivered")
    return enqueue, n / elapsed


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m hooklab.harness.outbox.bench",
                                     description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of bare loop then worker, back to back (default: 3)")
    parser.add_argument("--worker-sync", choices=("NORMAL", "FULL"), default="NORMAL",
                        help="the worker's SQLite synchronous setting (default: NORMAL)")
    args = parser.parse_args(argv)
    process, url = start_receiver()
    rounds: list[tuple[float, float, float]] = []
    print(f"outbox benchmark: {args.messages} messages to the reference receiver on "
          f"loopback, concurrency {args.concurrency}")
    try:
        asyncio.run(bare_loop(url, 200, args.concurrency))  # warm up
        for i in range(args.rounds):
            bare = asyncio.run(bare_loop(url, args.messages, args.concurrency))
            with tempfile.TemporaryDirectory() as tmp:
                queued, work = worker_run(url, args.messages, args.concurrency,
                                          os.path.join(tmp, "bench.db"), args.worker_sync)
            rounds.append((bare, work, queued))
            print(f"  round {i + 1}: bare loop {bare:6.0f}/s, worker {work:6.0f}/s, "
                  f"ratio {work / bare:6.1%}")
    finally:
        process.terminate()
        process.wait(10)
    _report(args, rounds)
    return 0


def _report(args: Any, rounds: list[tuple[float, float, float]]) -> None:
    bare = max(r[0] for r in rounds)
    work = max(r[1] for r in rounds)
    paired = statistics.median(r[1] / r[0] for r in rounds)
    print(f"  bare httpx loop : {bare:8.0f} deliveries/s (best round)")
    print(f"  outbox worker   : {work:8.0f} deliveries/s (best round; durable: messages "
          f"committed with synchronous=FULL at send, worker commits with "
          f"synchronous={args.worker_sync} in WAL mode, every attempt and state change "
          "recorded)")
    print(f"  ratio           : {work / bare:8.1%} of bests, {paired:.1%} median of rounds "
          f"(target >= 50 %: {'met' if min(work / bare, paired) >= 0.5 else 'NOT met'})")
    print(f"  enqueue (send)  : {max(r[2] for r in rounds):8.0f} messages/s (batches of "
          "1000)")


if __name__ == "__main__":
    sys.exit(main())

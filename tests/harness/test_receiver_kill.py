"""Acknowledged means kept: ``hooklab serve receiver --store PATH`` is killed with SIGKILL
after N acknowledgements and started again on the same file; every message it answered
200 to is processed (0 lost). In memory mode nothing of the killed run comes back: the
messages acknowledged and not yet processed are lost, which the docs say plainly.

The command runs as it ships, except that its handler waits while a gate file exists (slow
business logic), so the first run acknowledges messages it cannot process yet and the kill
leaves a backlog to lose or keep; the second run starts with the gate open."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from hooklab.model.signing import sign_headers

pytestmark = [pytest.mark.network, pytest.mark.slow]

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SENT, ACKED_BEFORE_KILL, CONCURRENCY = 800, 400, 32
#: ``hooklab``, its handlers waiting while the file named by HOOKLAB_TEST_GATE exists.
GATED_HOOKLAB = [sys.executable, "-c", """
import os, sys, time
from hooklab.harness.receiver import ReferenceReceiver
from hooklab.harness.cli.main import main
register = ReferenceReceiver.add_handler
def gated(self, pattern, handler):
    def wait_for_the_gate(event):
        while os.path.exists(os.environ["HOOKLAB_TEST_GATE"]):
            time.sleep(0.01)
        return handler(event)
    register(self, pattern, wait_for_the_gate)
ReferenceReceiver.add_handler = gated
sys.exit(main(sys.argv[1:]))
"""]


class Served:
    """A ``hooklab serve receiver`` process and the ids its handler printed."""

    def __init__(self, gate: Path, *flags: str) -> None:
        env = {**os.environ, "HOOKLAB_SECRET": SECRET, "HOOKLAB_TEST_GATE": str(gate)}
        self.proc = subprocess.Popen([*GATED_HOOKLAB, "serve", "receiver", "--port", "0", *flags],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, env=env)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert "listening on http://" in line, line
        self.url = line.split()[-1]
        self.processed: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("processed "):
                self.processed.append(line.split()[1])

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._reader.join(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(20)
        self._reader.join(10)

    def wait_for(self, ids: set[str], seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while ids - set(self.processed) and time.monotonic() < deadline:
            time.sleep(0.05)


def deliver_then_kill(served: Served) -> set[str]:
    """Post SENT messages, CONCURRENCY at a time; SIGKILL the receiver as soon as
    ACKED_BEFORE_KILL of them got a 200; return the ids that got one."""
    acked: set[str] = set()
    ids = iter(f"msg_{i:05d}" for i in range(SENT))

    async def sender(client: httpx.AsyncClient) -> None:
        for message_id in ids:
            body = b'{"type":"invoice.paid","data":{"n":"%s"}}' % message_id.encode()
            headers = sign_headers(body, message_id=message_id, timestamp=int(time.time()),
                                   secrets=[SECRET])
            try:
                answer = await client.post(served.url + "/webhook", content=body,
                                           headers=headers)
            except httpx.HTTPError:
                return  # the receiver is dead
            if answer.status_code == 200:
                acked.add(message_id)
                if len(acked) == ACKED_BEFORE_KILL:
                    served.proc.send_signal(signal.SIGKILL)

    async def go() -> None:
        limits = httpx.Limits(max_connections=CONCURRENCY)
        async with httpx.AsyncClient(limits=limits, timeout=10) as client:
            await asyncio.gather(*(sender(client) for _ in range(CONCURRENCY)))

    asyncio.run(go())
    served.kill()
    return acked


def test_sigkill_after_acknowledgements_loses_nothing_with_a_store(tmp_path: Path, capsys):
    store, gate = tmp_path / "inbox.db", tmp_path / "gate"
    gate.touch()
    first = Served(gate, "--store", str(store))
    acked = deliver_then_kill(first)
    before = set(first.processed)
    gate.unlink()
    second = Served(gate, "--store", str(store))
    try:
        second.wait_for(acked - before, 60)
    finally:
        second.stop()
    processed = before | set(second.processed)
    lost = acked - processed
    twice = len(first.processed) + len(second.processed) - len(processed)
    with capsys.disabled():
        print(f"\n--store: {len(acked)} acknowledged, {len(acked - before)} unprocessed at "
              f"SIGKILL, {len(set(second.processed))} processed after restart, "
              f"{len(lost)} lost, {twice} processed twice")
    assert len(acked) >= ACKED_BEFORE_KILL
    assert lost == set()
    assert acked - before, "the kill left no backlog: the test proved nothing"


def test_sigkill_in_memory_mode_loses_what_was_not_processed(tmp_path: Path, capsys):
    gate = tmp_path / "gate"
    gate.touch()
    first = Served(gate)
    acked = deliver_then_kill(first)
    before = set(first.processed)
    gate.unlink()
    second = Served(gate)
    try:
        time.sleep(1.0)  # a store would be replayed by now; memory has nothing to replay
    finally:
        second.stop()
    lost = acked - before
    with capsys.disabled():
        print(f"\nmemory: {len(acked)} acknowledged, {len(lost)} lost after SIGKILL "
              f"(processed before it: {len(acked & before)})")
    assert lost, "the kill left no backlog: the test proved nothing"
    assert second.processed == []  # the restarted receiver knows nothing of them

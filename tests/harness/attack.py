"""Hostile clients for the receiver hardening tests: floods of large unsigned bodies and
slowloris connections, over raw sockets, and the peak memory of a served receiver.

Not a test module: ``test_receiver_limits.py`` imports it. Everything runs on loopback
against a ``hooklab serve`` subprocess the test starts and stops itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence

HOOKLAB = [sys.executable, "-m", "hooklab.harness.cli"]
CHUNK = 64 * 1024


@contextlib.contextmanager
def serving(argv: Sequence[str], *, env: Mapping[str, str] | None = None,
            prefix: Sequence[str] = HOOKLAB) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Run ``hooklab <argv> --port 0`` (secrets in ``env``, never in argv); yield its URL
    and process; stop it with SIGTERM (SIGKILL if it does not stop)."""
    full_env = {**os.environ, **(env or {})}
    with tempfile.TemporaryFile("w+") as errors:  # a pipe nobody reads could fill and block
        proc = subprocess.Popen([*prefix, *argv, "--port", "0"], stdout=subprocess.PIPE,
                                stderr=errors, text=True, env=full_env)
        try:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], 30)
            line = proc.stdout.readline() if ready else ""
            if "listening on http://" not in line:
                stop(proc)
                errors.seek(0)
                raise AssertionError(f"hooklab {argv[:2]} did not start: {errors.read()[-2000:]}")
            yield line.split()[-1], proc
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[str]) -> None:
    """SIGTERM, then SIGKILL after 15 s; reap the process."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def memory(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` (peak RSS) of ``pid``, in bytes, from ``/proc``."""
    out = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                out[name] = int(value.split()[0]) * 1024
    return out


def host_port(url: str) -> tuple[str, int]:
    """``("127.0.0.1", 8000)`` from ``http://127.0.0.1:8000``."""
    host, _, port = url.removeprefix("http://").partition(":")
    return host, int(port.split("/")[0])


async def _post(host: str, port: int, size: int, chunked: bool, path: str,
                early: float) -> str:
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as exc:
        return f"connect:{type(exc).__name__}"
    head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
    head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {size}\r\n\r\n"
    answer = asyncio.ensure_future(reader.readline())
    try:
        writer.write(head.encode())
        await writer.drain()
        if early:
            await asyncio.wait([answer], timeout=early)
        sent = 0
        while sent < size and not answer.done():
            piece = min(CHUNK, size - sent)
            data = b"x" * piece
            writer.write(b"%x\r\n%s\r\n" % (piece, data) if chunked else data)
            await writer.drain()
            sent += piece
        if chunked and not answer.done():
            writer.write(b"0\r\n\r\n")
            await writer.drain()
    except OSError:
        pass
    try:
        line = await asyncio.wait_for(answer, 60)
    except (OSError, TimeoutError):
        line = b""
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    parts = line.split()
    return parts[1].decode() if len(parts) > 1 else "closed"


def flood(url: str, *, connections: int, size: int, chunked: bool = False,
          path: str = "/webhook", early: float = 0.0) -> Counter[str]:
    """POST ``connections`` unsigned bodies of ``size`` bytes at once; count the answers
    (a status code, or ``closed`` when the connection ended without one). With ``early``,
    each client waits up to that many seconds after its headers for an answer before it
    sends the body, as curl does with ``Expect``: an answer given from the headers alone is
    then read before the body's bytes could provoke a reset that loses it."""
    host, port = host_port(url)

    async def go() -> list[str]:
        return await asyncio.gather(*(_post(host, port, size, chunked, path, early)
                                      for _ in range(connections)))

    return Counter(asyncio.run(go()))


def slowloris(url: str, *, connections: int, seconds: float, every: float = 1.0) -> list[float]:
    """Open ``connections`` sockets that send request headers one line every ``every``
    seconds and never finish them; return, for each socket, how long the server kept it
    open from its connection (``seconds`` if still open ``seconds`` after the last one
    connected)."""
    host, port = host_port(url)
    socks: list[socket.socket] = []
    watch = selectors.DefaultSelector()  # epoll: select() stops at 1024 descriptors
    closed: dict[int, float] = {}
    opened: list[float] = []
    try:
        for index in range(connections):
            opened.append(time.monotonic())
            sock = socket.create_connection((host, port), timeout=10)
            sock.sendall(b"POST /webhook HTTP/1.1\r\nHost: x\r\n")
            sock.setblocking(False)
            socks.append(sock)
            watch.register(sock, selectors.EVENT_READ, index)
        start = time.monotonic()
        next_line = start + every
        while len(closed) < len(socks) and time.monotonic() - start < seconds:
            for key, _ in watch.select(0.1):
                try:
                    data = key.fileobj.recv(4096)  # type: ignore[union-attr]
                except OSError:
                    data = b""
                if not data:
                    closed[key.data] = time.monotonic() - opened[key.data]
                    watch.unregister(key.fileobj)
            if time.monotonic() >= next_line:
                next_line += every
                for index, sock in enumerate(socks):
                    if index not in closed:
                        with contextlib.suppress(OSError):
                            sock.send(b"X-Slow: 1\r\n")
    finally:
        watch.close()
        for sock in socks:
            sock.close()
    return [closed.get(i, seconds) for i in range(len(socks))]

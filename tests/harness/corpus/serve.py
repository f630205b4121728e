"""Serving the corpus receivers: in-process (their app objects) and over real HTTP on loopback.

:data:`RECEIVERS` names every receiver with its scheme, framework and documented
bad-signature status. :func:`create_app` gives the ASGI or WSGI app object of the Python
receivers that have one (for in-process use, e.g. ``run_checks(app, ...)``); :func:`serving`
runs any receiver on ``127.0.0.1`` on a free port, the way it runs in production:

- ASGI apps (FastAPI) under uvicorn, in a thread;
- WSGI apps (Flask, Django) under Werkzeug's threaded server (Flask's own dev server);
- aiohttp apps under aiohttp's ``AppRunner``, in a thread with its own event loop;
- Express apps as ``node`` subprocesses. Their packages come from ``node/package-lock.json``
  through ``npm ci``, once, into a cache directory outside the repository
  (``$HOOKLAB_CORPUS_NODE_CACHE``, default ``~/.cache/hooklab/corpus-node/<lock digest>``),
  beside which the scripts are copied (ES modules resolve packages from their own folder).

Every server stops when its ``with`` block ends. Every receiver serves the scaffolding route
``GET /_corpus/processed?message_id=ID`` (:data:`~corpus.receivers.scaffold.OBSERVE_PATH`).

Example::

    >>> RECEIVERS["stripe_django"].bad_signature_status
    400
    >>> [r.name for r in RECEIVERS.values() if not r.in_process]
    ['github_aiohttp', 'standardwebhooks_express', 'octokit_express']
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .receivers.scaffold import OBSERVE_PATH, Processed

__all__ = ["NODE_DIR", "RECEIVERS", "SECRETS", "CorpusReceiver", "Served", "create_app",
           "node_missing", "node_scripts_dir", "serving"]

NODE_DIR = Path(__file__).resolve().parent / "node"
#: One secret per scheme: the Standard Webhooks and GitHub test-vector secrets, and a
#: Stripe endpoint secret (used whole as UTF-8 by the Stripe SDK).
SECRETS = {
    "standard": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "stripe": "whsec_corpusStripeEndpointSecret0123",
    "github": "It's a Secret to Everybody",
}


@dataclass(frozen=True)
class CorpusReceiver:
    """One receiver of the corpus: what it is built on and how it is served."""

    name: str
    scheme: str  # hooklab's scheme name: standard, stripe or github
    library: str
    framework: str
    kind: str  # asgi, wsgi, aiohttp or node
    path: str  # where it takes webhooks
    bad_signature_status: int  # what its doc answers to a forged delivery

    @property
    def in_process(self) -> bool:
        """Whether the receiver has an ASGI or WSGI app object to call in-process."""
        return self.kind in ("asgi", "wsgi")

    @property
    def secret(self) -> str:
        """The secret the receiver verifies with."""
        return SECRETS[self.scheme]


RECEIVERS: dict[str, CorpusReceiver] = {r.name: r for r in (
    CorpusReceiver("standardwebhooks_fastapi", "standard", "standardwebhooks", "FastAPI",
                   "asgi", "/webhook", 400),
    CorpusReceiver("svix_flask", "standard", "svix", "Flask", "wsgi", "/webhook/", 400),
    CorpusReceiver("stripe_flask", "stripe", "stripe", "Flask", "wsgi", "/webhook", 400),
    CorpusReceiver("stripe_django", "stripe", "stripe", "Django", "wsgi", "/webhook/", 400),
    CorpusReceiver("github_fastapi", "github", "hmac (GitHub docs)", "FastAPI", "asgi",
                   "/webhook", 403),
    CorpusReceiver("github_aiohttp", "github", "hmac (GitHub docs)", "aiohttp", "aiohttp",
                   "/webhook", 403),
    CorpusReceiver("standardwebhooks_express", "standard", "standardwebhooks (npm)",
                   "Express", "node", "/webhook", 400),
    CorpusReceiver("octokit_express", "github", "@octokit/webhooks", "Express", "node",
                   "/webhook", 400),
)}


def create_app(name: str, processed: Processed | None = None) -> tuple[Any, Processed]:
    """The app object of receiver ``name`` and the count of what it processed.

    >>> app, processed = create_app("svix_flask")
    >>> type(app).__name__, processed.total()
    ('Flask', 0)
    """
    receiver = RECEIVERS[name]
    if receiver.kind == "node":
        raise ValueError(f"{name} is a node app: it runs over HTTP only (use serving)")
    processed = Processed() if processed is None else processed
    module = importlib.import_module(f"{__package__}.receivers.{name}")
    return module.create_app(receiver.secret, processed), processed


@dataclass(frozen=True)
class Served:
    """A receiver running on loopback."""

    receiver: CorpusReceiver
    url: str  # http://127.0.0.1:PORT, no trailing slash

    @property
    def webhook_url(self) -> str:
        """Where the receiver takes webhooks."""
        return self.url + self.receiver.path

    @property
    def observe_url(self) -> str:
        """The scaffolding route that answers how often a message id was processed."""
        return self.url + OBSERVE_PATH


@contextlib.contextmanager
def serving(name: str) -> Iterator[Served]:
    """Run receiver ``name`` on ``127.0.0.1`` (a free port) until the block ends."""
    receiver = RECEIVERS[name]
    if receiver.kind == "node":
        with _node_server(receiver) as port:
            yield Served(receiver, f"http://127.0.0.1:{port}")
        return
    app, _ = create_app(name)
    runner = {"asgi": _uvicorn, "wsgi": _werkzeug, "aiohttp": _aiohttp}[receiver.kind]
    with runner(app) as port:
        yield Served(receiver, f"http://127.0.0.1:{port}")


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def _wait(condition: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {timeout:g} s")
        time.sleep(0.01)


@contextlib.contextmanager
def _uvicorn(app: Any) -> Iterator[int]:
    import uvicorn

    sock = _bound_socket()
    config = uvicorn.Config(app, log_level="critical", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])),
                              name="corpus-uvicorn", daemon=True)
    thread.start()
    try:
        _wait(lambda: server.started or not thread.is_alive(), "uvicorn")
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextlib.contextmanager
def _werkzeug(app: Any) -> Iterator[int]:
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
    thread = threading.Thread(target=server.serve_forever, name="corpus-werkzeug",
                              kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.socket.getsockname()[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@contextlib.contextmanager
def _aiohttp(app: Any) -> Iterator[int]:
    from aiohttp import web

    sock = _bound_socket()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.SockSite(runner, sock).start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, name="corpus-aiohttp", daemon=True)
    thread.start()
    try:
        _wait(lambda: started.is_set() or not thread.is_alive(), "aiohttp")
        yield sock.getsockname()[1]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        sock.close()


def node_missing() -> str | None:
    """Why the Express receivers cannot run here (``None``: node and npm are installed)."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    return f"{' and '.join(missing)} not installed" if missing else None


def _node_cache() -> Path:
    digest = hashlib.sha256((NODE_DIR / "package-lock.json").read_bytes()).hexdigest()[:16]
    base = os.environ.get("HOOKLAB_CORPUS_NODE_CACHE")
    root = Path(base) if base else Path.home() / ".cache" / "hooklab" / "corpus-node"
    return root / digest


_NODE_LOCK = threading.Lock()


def node_scripts_dir() -> Path:
    """A folder holding ``node_modules`` (``npm ci``, once) and fresh copies of the scripts."""
    with _NODE_LOCK:
        cache = _node_cache()
        if not (cache / "node_modules" / ".package-lock.json").exists():
            cache.parent.mkdir(parents=True, exist_ok=True)
            work = Path(tempfile.mkdtemp(prefix="npm-", dir=cache.parent))
            for name in ("package.json", "package-lock.json"):
                shutil.copy(NODE_DIR / name, work / name)
            done = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
                cwd=work, capture_output=True, text=True, timeout=600, check=False)
            if done.returncode != 0:
                shutil.rmtree(work, ignore_errors=True)
                raise RuntimeError(f"npm ci failed in {work}: {done.stderr.strip()[-2000:]}")
            if cache.exists():
                shutil.rmtree(cache)
            work.rename(cache)
        for script in NODE_DIR.glob("*.mjs"):
            shutil.copy(script, cache / script.name)
        return cache


@contextlib.contextmanager
def _node_server(receiver: CorpusReceiver) -> Iterator[int]:
    folder = node_scripts_dir()
    env = {**os.environ, "PORT": "0", "CORPUS_SECRET": receiver.secret,
           "NODE_ENV": "production"}
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(["node", f"{receiver.name}.mjs"], cwd=folder, env=env,
                                   stdout=subprocess.PIPE, stderr=errors, text=True)
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line:
                process.wait(10)
                errors.seek(0)
                raise RuntimeError(f"{receiver.name} exited: {errors.read()[-2000:]}")
            yield int(json.loads(line)["port"])
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()

"""Small receivers for testing the conformance harness: one correct, the rest broken on purpose.

:class:`MiniReceiver` is a minimal ASGI receiver that does the Reception lane right (verify
the raw bytes, then parse, then acknowledge and process asynchronously, once per message
id). Each ``bug`` breaks one thing in the way real receivers break it (see "Common receiver
bugs seen in the wild" in docs/reference.md); the tests check that the right conformance
check catches each one. :func:`wsgi_receiver` is the same correct lane as a WSGI app.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from hooklab.model.errors import VerificationError
from hooklab.model.signing import DEFAULT_TOLERANCE, get_scheme

BUGS = (
    "no_verification",  # never checks the signature
    "reserialized",  # verifies json.dumps(json.loads(body)) instead of the raw bytes
    "parse_first",  # parses the JSON (400) before verifying the signature
    "crash_on_bad_json",  # lets the JSON error escape: 500
    "slow_ack",  # processes synchronously before acknowledging
    "first_signature_only",  # checks only the first signature of a rotated list
    "accepts_stale",  # no timestamp tolerance at all
    "no_dedupe",  # processes a redelivered message again
    "crash_on_garbage_header",  # int() on the timestamp header without a guard: 500
    "trusts_unsigned_id",  # dedupes GitHub deliveries by the unsigned X-GitHub-Delivery
    "crash_on_corrupted_signature",  # b64decode/compare_digest errors escape: 500
)


class Reply(Exception):
    """Raised inside the lane to answer with ``status`` at once."""

    def __init__(self, status: int) -> None:
        self.status = status


def _first_signature(scheme: str, headers: dict[str, str]) -> dict[str, str]:
    out = dict(headers)
    if scheme == "standard" and "webhook-signature" in out:
        out["webhook-signature"] = (out["webhook-signature"].split() or [""])[0]
    if scheme == "stripe" and "stripe-signature" in out:
        items = out["stripe-signature"].split(",")
        v1 = [i for i in items if i.startswith("v1=")][:1]
        out["stripe-signature"] = ",".join([i for i in items if not i.startswith("v1=")] + v1)
    return out


class Lane:
    """The Reception lane of a minimal receiver, with one optional bug."""

    def __init__(self, secret: str, scheme: str = "standard", *, bug: str | None = None,
                 delay: float = 0.5, clock: Callable[[], float] | None = None) -> None:
        if bug is not None and bug not in BUGS:
            raise ValueError(f"unknown bug {bug!r}")
        import time

        self.secret = secret
        self.scheme = get_scheme(scheme)
        self.bug = bug
        self.delay = delay
        self.clock = clock or time.time
        self.seen: set[str] = set()
        self.processed: Counter[str] = Counter()

    def processed_count(self, message_id: str) -> int:
        """How often ``message_id`` was processed."""
        return self.processed[message_id]

    def _verify(self, headers: dict[str, str], body: bytes) -> str:
        if self.bug == "no_verification":
            return headers.get("webhook-id", "")
        if self.bug == "crash_on_garbage_header" and "webhook-timestamp" in headers:
            int(headers["webhook-timestamp"])  # ValueError on garbage: a 500
        if self.bug == "reserialized":
            with contextlib.suppress(ValueError):
                body = json.dumps(json.loads(body)).encode()
        if self.bug == "first_signature_only":
            headers = _first_signature(self.scheme.name, headers)
        if self.bug == "crash_on_corrupted_signature" and not headers.get(
                "webhook-signature", "").isascii():
            raise TypeError("comparing strings with non-ASCII characters")
        tolerance = 1e12 if self.bug == "accepts_stale" else DEFAULT_TOLERANCE
        try:
            return self.scheme.verify(headers, body, secrets=[self.secret], now=self.clock(),
                                      tolerance=tolerance)
        except VerificationError:
            raise Reply(401) from None

    def _parse(self, body: bytes) -> Any:
        if self.bug == "crash_on_bad_json":
            return json.loads(body)
        try:
            return json.loads(body)
        except ValueError:
            raise Reply(400) from None

    def receive(self, pairs: Iterable[tuple[str, str]], body: bytes) -> tuple[int, str]:
        """Run the lane; returns the status and the message id to process ("" for none)."""
        headers: dict[str, str] = {}
        for name, value in pairs:
            if name.lower() in headers:
                return 401, ""  # a repeated header is ambiguous: refuse it
            headers[name.lower()] = value
        try:
            if self.bug == "parse_first":
                payload = self._parse(body)
                message_id = self._verify(headers, body)
            else:
                message_id = self._verify(headers, body)
                payload = self._parse(body)
        except Reply as reply:
            return reply.status, ""
        if not message_id and isinstance(payload, dict):
            message_id = str(payload.get("id", ""))
        message_id = message_id or hashlib.sha256(body).hexdigest()
        key = message_id  # what deduplication trusts: a signed id, else the signed body
        if self.scheme.name == "github" and self.bug != "trusts_unsigned_id":
            key = hashlib.sha256(body).hexdigest()
        if key in self.seen and self.bug != "no_dedupe":
            return 200, ""
        self.seen.add(key)
        return 200, message_id


class MiniReceiver(Lane):
    """The lane as an ASGI app; processing runs after the answer, on the event loop."""

    async def __call__(self, scope: Mapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        status, message_id = self.receive(pairs, body)
        if message_id and self.bug == "slow_ack":
            await asyncio.sleep(self.delay)  # "processing" before the acknowledgement
            self.processed[message_id] += 1
        elif message_id:
            asyncio.get_running_loop().call_soon(self.processed.update, [message_id])
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": str(status).encode()})


def wsgi_receiver(secret: str, scheme: str = "standard") -> Callable[..., Iterable[bytes]]:
    """The correct lane as a WSGI app (processing counted at once)."""
    lane = Lane(secret, scheme)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        pairs = [(k[5:].replace("_", "-").lower(), v) for k, v in environ.items()
                 if k.startswith("HTTP_")]
        status, message_id = lane.receive(pairs, body)
        if message_id:
            lane.processed[message_id] += 1
        start_response(f"{status} X", [("Content-Type", "text/plain")])
        return [str(status).encode()]

    app.lane = lane  # type: ignore[attr-defined]
    return app

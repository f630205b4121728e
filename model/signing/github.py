"""GitHub: ``X-Hub-Signature-256: sha256=<hex>`` over the raw body alone.

The HMAC-SHA256 key is the secret as UTF-8. Nothing dates the body, so a captured delivery
verifies forever (no replay protection), and ``X-GitHub-Delivery``, the id GitHub keeps on
a redelivery, is not signed: :meth:`GitHubScheme.verify` returns it as read. The header
holds one signature, so only the first secret signs; a receiver rotating its secret tries
each of its secrets.

    >>> headers = GitHubScheme().sign(message_id="d1", timestamp=0, body=b"Hello, World!",
    ...                               secrets=["It's a Secret to Everybody"])
    >>> headers["X-Hub-Signature-256"][:15]
    'sha256=757107ea'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ._common import Direction, check_id, check_message, hmac_digest, match, require, verify_inputs
from ._keys import TextKeyed

__all__ = ["GitHubScheme"]


class GitHubScheme(TextKeyed):
    """GitHub's ``X-Hub-Signature-256``: the body alone is signed, so replays verify."""

    name = "github"
    inputs: tuple[str, ...] = ()
    tolerance: float | None = None
    direction: Direction = "none"
    id_header: str | None = "X-GitHub-Delivery"
    id_signed = False
    token_chars = 40

    def sign(
        self,
        *,
        message_id: str,
        timestamp: int,
        body: bytes,
        secrets: Sequence[str],
        url: str | None = None,
        method: str | None = None,
    ) -> dict[str, str]:
        """``X-GitHub-Delivery`` and ``X-Hub-Signature-256`` signed with ``secrets[0]``;
        ``timestamp`` is checked but not sent."""
        check_message(message_id, timestamp, body)
        key = self.keys(secrets)[0]
        return {
            "X-GitHub-Delivery": message_id,
            "X-Hub-Signature-256": "sha256=" + hmac_digest(key, bytes(body)).hex(),
        }

    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        secrets: Sequence[str],
        now: float,
        tolerance: float | None = None,
        url: str | None = None,
        method: str | None = None,
    ) -> str | None:
        """Check the body's signature; returns ``X-GitHub-Delivery`` (None if absent).

        ``now`` and ``tolerance`` are checked for sanity but unused: nothing dates the body.
        """
        keys = self.keys(secrets)
        found = verify_inputs(headers, body, now, tolerance)
        header = "x-hub-signature-256"
        value = require(found, header)
        candidates = [value[7:]] if value.startswith("sha256=") else []
        expected = [hmac_digest(key, bytes(body)).hex().encode("ascii") for key in keys]
        match(candidates, expected, header)
        delivery = found.get("x-github-delivery", "")
        return check_id(delivery, "x-github-delivery") if delivery else None

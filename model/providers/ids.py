"""The ids and time stamps a twin's payloads carry, drawn from an ``rng`` and a ``now``.

Each provider spells its ids its own way (Stripe ``evt_`` + 24 letters and digits, GitHub
and Shopify UUIDs, Slack ``Ev`` + 9 upper-case letters and digits, Discord snowflakes) and
its times too (Unix seconds, milliseconds, RFC 3339). These helpers draw them from the
``rng`` they are given and turn ``now`` into text; none reads the clock or global
randomness, so the same seed gives the same payload, byte for byte.

    >>> import random
    >>> token(random.Random(0), 6, prefix="evt_")
    'evt_2yW4Ac'
    >>> rfc3339(1700000000)
    '2023-11-14T22:13:20Z'
"""

from __future__ import annotations

import json
import math
import random
import string
import uuid
from datetime import UTC, datetime
from typing import Any

from ..errors import ConfigError

__all__ = [
    "ALNUM",
    "DISCORD_EPOCH_MS",
    "UPPER_ALNUM",
    "check_now",
    "digits",
    "encode_json",
    "hex_token",
    "rfc3339",
    "snowflake",
    "token",
    "uuid4",
]

#: Letters and digits, as in Stripe's and Svix's ids.
ALNUM = string.ascii_letters + string.digits
#: Upper-case letters and digits, as in Slack's ids.
UPPER_ALNUM = string.ascii_uppercase + string.digits
#: Discord snowflakes count milliseconds from the first second of 2015.
DISCORD_EPOCH_MS = 1_420_070_400_000


def check_now(now: float) -> int:
    """``now`` as whole Unix seconds; ConfigError naming ``now`` unless a finite number >= 0.

    >>> check_now(1700000000.9)
    1700000000
    """
    if isinstance(now, bool) or not isinstance(now, int | float) or not math.isfinite(now) or (
            now < 0):
        raise ConfigError(f"now must be a finite number of seconds >= 0, not {now!r}",
                          field="now")
    return math.floor(now)


def token(rng: random.Random, nchars: int, *, prefix: str = "", alphabet: str = ALNUM) -> str:
    """``prefix`` and ``nchars`` characters of ``alphabet`` drawn from ``rng``.

    >>> len(token(random.Random(1), 9, prefix="Ev", alphabet=UPPER_ALNUM))
    11
    """
    return prefix + "".join(rng.choice(alphabet) for _ in range(nchars))


def hex_token(rng: random.Random, nchars: int) -> str:
    """``nchars`` lower-case hex digits from ``rng``.

    >>> hex_token(random.Random(0), 7)
    'cd18fc9'
    """
    return token(rng, nchars, alphabet="0123456789abcdef")


def digits(rng: random.Random, ndigits: int) -> int:
    """A number of exactly ``ndigits`` digits from ``rng``.

    >>> len(str(digits(random.Random(0), 9)))
    9
    """
    return rng.randrange(10 ** (ndigits - 1), 10**ndigits)


def uuid4(rng: random.Random) -> str:
    """A version-4 UUID drawn from ``rng``.

    >>> uuid4(random.Random(0))[14]
    '4'
    """
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def snowflake(rng: random.Random, now: float) -> str:
    """A Discord snowflake for time ``now``: milliseconds since 2015, then 22 random bits.

    >>> int(snowflake(random.Random(0), 1700000000)) >> 22
    279929600000
    """
    millis = math.floor(now * 1000) - DISCORD_EPOCH_MS
    return str((max(millis, 0) << 22) | rng.getrandbits(22))


def rfc3339(now: float, *, millis: bool = False) -> str:
    """``now`` as RFC 3339 text in UTC (``Z``), to the second or to the millisecond.

    >>> rfc3339(1700000000.25, millis=True)
    '2023-11-14T22:13:20.250Z'
    """
    when = datetime.fromtimestamp(now, tz=UTC)
    text = when.isoformat(timespec="milliseconds" if millis else "seconds")
    return text.replace("+00:00", "Z")


def encode_json(payload: Any, *, indent: int | None = None) -> bytes:
    """``payload`` as UTF-8 JSON: compact, or indented as Stripe sends it.

    >>> encode_json({"a": [1, 2]})
    b'{"a":[1,2]}'
    """
    if indent is None:
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return json.dumps(payload, indent=indent, ensure_ascii=False).encode("utf-8")

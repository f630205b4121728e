"""Twilio: ``X-Twilio-Signature``, base64 HMAC-SHA1 of the URL and the POST parameters.

The key is the account's Auth Token as UTF-8. The signed string is the full request URL,
then, for a form body (``application/x-www-form-urlencoded``), every parameter sorted by
name as ``name`` + ``value`` (a name given several times: its values sorted, each once, as
Twilio's SDK does). A JSON body is not signed as parameters: Twilio adds
``bodySHA256=<hex SHA-256 of the body>`` to the URL's query and signs the URL alone; the URL
decides which of the two a request is (see :func:`json_url`). Nothing is dated. Like the
SDK, a receiver tries its URL as given, without its port and with the default port, since
Twilio is not consistent about it. The header holds one signature; the first secret signs.

    >>> url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    >>> body = (b"CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234"
    ...         b"&From=%2B14158675309&To=%2B18005551212")
    >>> TwilioScheme().sign(message_id="m", timestamp=0, body=body, secrets=["12345"],
    ...                     url=url)
    {'X-Twilio-Signature': 'RSOYDt4T1cUTdK1PDd93/VVr8B8='}
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qs, parse_qsl, urlencode, urlparse, urlsplit

from ..errors import ConfigError, VerificationError
from ._common import (
    Direction,
    check_message,
    check_url,
    hmac_digest,
    match,
    require,
    verify_inputs,
)
from ._keys import TextKeyed, b64

__all__ = ["BODY_HASH_PARAM", "TwilioScheme", "form_parameters", "json_url", "url_variants"]

#: The query parameter that carries a JSON body's SHA-256 (hex) in the signed URL.
BODY_HASH_PARAM = "bodySHA256"


def form_parameters(body: bytes) -> list[tuple[str, str]]:
    """The name/value pairs of a form body; ValueError if it is not one.

    >>> form_parameters(b"Digits=1234&From=%2B1415")
    [('Digits', '1234'), ('From', '+1415')]
    """
    text = bytes(body).decode("utf-8")  # UnicodeDecodeError is a ValueError
    return parse_qsl(text, keep_blank_values=True, strict_parsing=True, errors="strict")


def json_url(url: str, body: bytes) -> str:
    """``url`` with ``bodySHA256=<hex>`` of ``body`` appended, as Twilio sends a JSON body.

    >>> json_url("https://example.com/h?a=1", b"{}")[:57]
    'https://example.com/h?a=1&bodySHA256=44136fa355b3678a1146'
    """
    query = urlencode({BODY_HASH_PARAM: hashlib.sha256(bytes(body)).hexdigest()})
    return url + ("&" if urlsplit(url).query else "?") + query


def url_variants(url: str) -> list[str]:
    """``url`` as given, without its port and with the default port (Twilio's SDK tries both).

    >>> url_variants("https://example.com/h")
    ['https://example.com/h', 'https://example.com:443/h']
    """
    parts = urlparse(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if parts.port is not None:
        bare = hostport[: hostport.rfind(":")]
        variants = [url, parts._replace(netloc=userinfo + at + bare).geturl(), parts.geturl()]
    else:
        default = 443 if parts.scheme == "https" else 80
        with_port = parts._replace(netloc=f"{parts.netloc}:{default}")
        variants = [url, parts.geturl(), with_port.geturl()]
    return list(dict.fromkeys(variants))


def _body_hash(url: str) -> str | None:
    values = parse_qs(urlsplit(url).query, keep_blank_values=True).get(BODY_HASH_PARAM)
    return values[0] if values else None


def _signed(url: str, parameters: Sequence[tuple[str, str]]) -> bytes:
    grouped: dict[str, set[str]] = {}
    for name, value in parameters:
        grouped.setdefault(name, set()).add(value)
    text = url + "".join(
        name + value for name in sorted(grouped) for value in sorted(grouped[name])
    )
    return text.encode("utf-8")


class TwilioScheme(TextKeyed):
    """Twilio's request signature (HMAC-SHA1 with the Auth Token)."""

    name = "twilio"
    inputs: tuple[str, ...] = ("url",)
    tolerance: float | None = None
    direction: Direction = "none"
    id_header: str | None = None
    id_signed = False
    min_secret_chars = 1  # Twilio's own published example token is "12345"

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
        """``X-Twilio-Signature`` of ``url`` and the form body (or ``url`` alone for a JSON
        body, whose URL must then carry ``bodySHA256``)."""
        check_message(message_id, timestamp, body)
        url = check_url(url, self.name)
        key = self.keys(secrets)[0]
        digest = _body_hash(url)
        if digest is not None:
            if digest != hashlib.sha256(bytes(body)).hexdigest():
                raise ConfigError(f"url: its {BODY_HASH_PARAM} is not the body's SHA-256",
                                  field="url")
            parameters: list[tuple[str, str]] = []
        else:
            try:
                parameters = form_parameters(body)
            except ValueError:
                raise ConfigError(
                    f"url: a body that is not form-encoded is signed as Twilio sends JSON, "
                    f"with the URL {json_url(url, body)}", field="url"
                ) from None
        return {"X-Twilio-Signature": b64(hmac_digest(key, _signed(url, parameters),
                                                      digest="sha1"))}

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
        """Check the signature for ``url`` (as received, query included) and the body."""
        keys = self.keys(secrets)
        url = check_url(url, self.name)
        found = verify_inputs(headers, body, now, tolerance)
        header = "x-twilio-signature"
        given = require(found, header)
        digest = _body_hash(url)
        if digest is not None:
            actual = hashlib.sha256(bytes(body)).hexdigest()
            if not hmac.compare_digest(digest.encode("utf-8"), actual.encode("ascii")):
                raise VerificationError(f"{BODY_HASH_PARAM} in the URL is not the body's SHA-256")
            parameters: list[tuple[str, str]] = []
        else:
            try:
                parameters = form_parameters(body)
            except ValueError:
                raise VerificationError(
                    f"body is not form-encoded and the URL has no {BODY_HASH_PARAM}"
                ) from None
        expected = [
            b64(hmac_digest(key, _signed(variant, parameters), digest="sha1")).encode("ascii")
            for variant in url_variants(url)
            for key in keys
        ]
        match([given], expected, header, tried=len(keys))
        return None

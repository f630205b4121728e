"""The Twilio twin: messaging webhooks as form posts, signed over the URL and the parameters.

Twilio posts ``application/x-www-form-urlencoded`` parameters and signs the full URL
followed by every parameter sorted by name (``X-Twilio-Signature``, HMAC-SHA1 with the
Auth Token; ``docs/reference.md``), so the twin's requests must be built for the URL they
are sent to. Two kinds of request are drawn: an incoming message (what Twilio posts to a
number's messaging webhook) and a message status callback; ``incoming-message`` and
``status-callback`` are hooklab's labels for them, since Twilio gives these no event
type. ``docs/reference.md`` gives no timeout, retry schedule or dedupe id for Twilio, so
the twin states none.

    >>> import random
    >>> message = TwilioTwin().message(random.Random(1), 1700000000, "incoming-message")
    >>> message.content_type
    'application/x-www-form-urlencoded'
"""

from __future__ import annotations

import random
from urllib.parse import urlencode

from .ids import digits, hex_token
from .twin import Twin
from .wire import Message

__all__ = ["TWILIO_API_VERSION", "TwilioTwin"]

#: The API version Twilio's webhooks name.
TWILIO_API_VERSION = "2010-04-01"


def _number(rng: random.Random) -> str:
    return f"+1{rng.randrange(201, 989)}{digits(rng, 7)}"


class TwilioTwin(Twin):
    """Twilio's messaging webhooks."""

    name = "twilio"
    title = "Twilio"
    coverage = "full"
    scheme = "twilio"
    event_types = ("incoming-message", "status-callback")
    sources = ("provider docs and SDK: the form parameters and the signature over URL and "
               "parameters",)
    gaps = ("timeout, retries, disabling: docs/reference.md gives none; nor a dedupe id",)
    approximate = ("event types: hooklab's labels; Twilio names none",)

    def payload(self, rng: random.Random, now: int, event_type: str) -> Message:
        """The form parameters of an incoming message or a status callback."""
        sid = "SM" + hex_token(rng, 32)
        account = "AC" + hex_token(rng, 32)
        sender, to = _number(rng), _number(rng)
        if event_type == "incoming-message":
            params = [("ToCountry", "US"), ("ToState", "CA"), ("SmsMessageSid", sid),
                      ("NumMedia", "0"), ("ToCity", "SAN FRANCISCO"), ("FromZip", "94105"),
                      ("SmsSid", sid), ("FromState", "CA"), ("SmsStatus", "received"),
                      ("FromCity", "SAN FRANCISCO"), ("Body", "Hello from hooklab"),
                      ("FromCountry", "US"), ("To", to), ("ToZip", "94107"),
                      ("NumSegments", "1"), ("MessageSid", sid), ("AccountSid", account),
                      ("From", sender), ("ApiVersion", TWILIO_API_VERSION)]
        else:
            status = ("sent", "delivered", "undelivered")[rng.randrange(3)]
            params = [("SmsSid", sid), ("SmsStatus", status), ("MessageStatus", status),
                      ("To", to), ("MessageSid", sid), ("AccountSid", account),
                      ("From", sender), ("ApiVersion", TWILIO_API_VERSION)]
        body = urlencode(params).encode("ascii")
        return Message(self.name, sid, event_type, now, body,
                       "application/x-www-form-urlencoded")

"""Standard Webhooks' Python library (``standardwebhooks``) on FastAPI.

Follows: the standard-webhooks Python README (``Webhook(secret).verify(payload, headers)``,
https://github.com/standard-webhooks/standard-webhooks/tree/main/libraries/python) wired
into FastAPI the way Svix's guide "Receive Webhooks with Python (FastAPI)" does
(https://www.svix.com/guides/receiving/receive-webhooks-with-python-fastapi/); Svix's
library wraps this one.

Deliberate choices, all the doc's:

- the raw body is ``await request.body()``; the headers are ``request.headers`` as is;
- only ``WebhookVerificationError`` is caught and answered 400 (the guide's status); the
  library's other exceptions escape, so FastAPI answers 500: a ``webhook-signature``
  without a comma (``garbage``, ``v1 ,x``) raises ``ValueError``, bad base64 (``v1,x``)
  ``binascii.Error``, a non-UTF-8 body ``UnicodeDecodeError``, and ``verify`` parses the
  JSON after checking the signature (``json_parse=True``), so a signed body that is not
  JSON raises ``JSONDecodeError``;
- a verified message is answered 204 and processed at once; there is no deduplication
  (the guide shows none), so a redelivery is processed again.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response, status
from standardwebhooks import Webhook, WebhookVerificationError

from .scaffold import OBSERVE_PATH, Processed

__all__ = ["create_app"]


def create_app(secret: str, processed: Processed) -> FastAPI:
    """The FastAPI app of the guide, verifying with ``secret``."""
    app = FastAPI()

    @app.post("/webhook", status_code=status.HTTP_204_NO_CONTENT)
    async def webhook_handler(request: Request, response: Response) -> None:
        headers = request.headers
        payload = await request.body()

        try:
            wh = Webhook(secret)
            msg = wh.verify(payload, headers)  # type: ignore[arg-type]
        except WebhookVerificationError:
            response.status_code = status.HTTP_400_BAD_REQUEST
            return

        # Do something with the message...
        del msg
        processed.record(headers.get("webhook-id"))

    @app.get(OBSERVE_PATH)
    async def observe(message_id: str) -> int:  # test scaffolding, not in the guide
        return processed.count(message_id)

    return app

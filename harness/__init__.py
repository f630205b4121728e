"""hooklab.harness: webhooks over real HTTP: a sender, receivers, a durable outbox, checks.

The map, one hop from a folder or file name to its concept:

- ``transport/``: the one seam between a delivery and a receiver (a :class:`Channel
  <hooklab.harness.transport.Channel>` and its :class:`Response
  <hooklab.harness.transport.Response>`): real HTTP, an in-process ASGI/WSGI app, the
  simulator's fault model; the SSRF guard real HTTP connects through;
- ``sender.py``: deliver one message to one endpoint, signed, retried by its policy,
  recorded in a status store;
- ``outbox/``: the durable outbox in one SQLite file, its crash-safe worker, ``hooklab
  status``'s read side, and its benchmark;
- ``receiver.py``: the reference receiver (the diagram's WebhookReceiver and
  EventProcessor lanes), an ASGI app;
- ``flaky.py`` and ``request_log.py``: a receiver that misbehaves on purpose, and the log
  of every request it saw;
- ``conformance/``: the receiver conformance checks and their engine (``hooklab check``);
- ``pytest_plugin.py``: the same checks as tests of your own suite (entry point
  ``hooklab``);
- ``server.py``: serve an ASGI app on loopback for a test; ``clock.py``: real or fake time;
- ``cli/``: the ``hooklab`` command line, a leaf nothing imports.

Nothing is re-exported here: import from the module or package that holds the concept
(``hooklab.harness.sender``, ``.transport``, ``.outbox``, ``.conformance``...).
"""

__all__: list[str] = []

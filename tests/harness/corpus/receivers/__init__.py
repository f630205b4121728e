"""The corpus receivers: one module per library × framework, each naming the doc it follows.

Every module exposes ``create_app(secret, processed)``: the app exactly as its doc shows
(secret passed in instead of hard-coded), plus one scaffolding route,
``GET /_corpus/processed?message_id=ID``, that answers how often the handler processed that
message id (a JSON integer). That route is test scaffolding, not part of any documented
pattern; it lets ``idempotent_redelivery`` be judged.
"""

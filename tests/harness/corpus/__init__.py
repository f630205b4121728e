"""A regression corpus of webhook receivers written as real libraries' own docs show.

Each receiver in :mod:`corpus.receivers` (and the Express apps in ``node/``) follows one
library's documented webhook-receiver pattern, naive parts included: where a doc's sample
lets a library's exception escape, so does the receiver, and the framework answers what it
answers (usually a 500). The corpus is the ground truth hooklab's conformance verdicts are
judged on (issue 11):

- :mod:`corpus.serve` gives every receiver in-process (its ASGI or WSGI app) and over real
  HTTP on loopback;
- :mod:`corpus.deliveries` builds provider-realistic requests signed with the providers'
  own libraries (never with hooklab's signing code);
- the ``test_corpus_*`` modules assert what each receiver really answers;
- :mod:`corpus.expected` is the verdict every check must give on every receiver, each with
  the ground-truth test it rests on;
- :mod:`corpus.today` prints today's ``hooklab check`` verdicts beside the expected ones.
"""

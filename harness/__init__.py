"""hooklab.harness: real HTTP adapters, a flaky receiver and a receiver conformance harness.

Nothing is re-exported here: import from the submodule that holds the concept
(``hooklab.harness.sender``, ``.receiver``, ``.flaky``, ``.conformance``...).
"""

__all__: list[str] = []

"""hooklab.harness: real HTTP adapters, a flaky receiver and a receiver conformance harness."""

"""The hooklab pytest plugin: fixtures that run the receiver conformance checks in-process."""

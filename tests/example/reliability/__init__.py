"""The reliability suite moved to tests/reliability/; the fault proxy stays here for the
example's metrics suites until they are ported."""

"""End-to-end tests: the handler against the local stack, and the fault suites (faults/). Marked ``e2e``."""

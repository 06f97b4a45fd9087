"""Tests of lib/queue/, one module per module (test_<module>.py)."""

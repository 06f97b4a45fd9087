"""Tests of lib/sources/, one module per module (test_<module>.py)."""

"""Tests of lib/http/, one module per module (test_<module>.py)."""

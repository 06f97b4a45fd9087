"""Tests of lib/media/, one module per module (test_<module>.py)."""

"""Tests of lib/storage/, one module per module (test_<module>.py)."""

"""Tests of lib/vod/, one module per module (test_<module>.py)."""

"""Tests of the local tools (devstack/): the stand-ins, the command line, packaging. Marked ``devstack``."""

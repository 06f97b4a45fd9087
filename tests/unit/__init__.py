"""Unit tests, one module per lib module, in lib's own packages: lib/<module>.py has test_<module>.py
here, lib/<package>/<module>.py has <package>/test_<module>.py."""

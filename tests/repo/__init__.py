"""Checks of the repository itself: docs and configuration, the import graph, the module map, the mirror."""

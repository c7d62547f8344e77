"""Helpers shared by the test suite: interpreters, synthetic wheels, a local index."""

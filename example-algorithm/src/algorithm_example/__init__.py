"""algorithm-example: contrast and dark-region checks on a board's region of interest."""

from algorithm_example.main import AlgorithmExample

__all__ = ["AlgorithmExample"]

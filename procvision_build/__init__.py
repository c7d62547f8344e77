"""procvision-build: a declarative PEP 517 backend for ProcVision algorithms.

``build-backend = "procvision_build"`` finds the PEP 517 hooks here.
"""

__version__ = "0.1.0"

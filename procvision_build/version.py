"""The version of procvision-build (also written into every wheel's ``Generator``)."""

__version__ = "0.1.0"

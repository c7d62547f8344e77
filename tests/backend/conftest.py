"""The backend tests use the session fixtures of tests/conftest.py (own_wheels, offline_pip_env)."""

# CPython's private POSIX shared-memory binding (what multiprocessing.shared_memory uses); typeshed has no stub.
# mypy reads this through mypy_path (pyproject.toml); nothing here ships.
import sys

if sys.platform != "win32":
    def shm_open(path: str, flags: int, mode: int = 0o777) -> int: ...
    def shm_unlink(path: str) -> None: ...

"""The failures the deploy tool reports: one line for the user, a contract code when one applies."""

from __future__ import annotations


from .codes import ErrorCode

# typing is imported by the type checker only: the root tool's calls skip it (values.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Sequence

#: Exit statuses of every command (docs/deploy.md).
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BUSY = 0, 1, 2, 3
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143


class DeployError(Exception):
    """A failure the user can act on; ``str()`` is one line, ``detail`` holds extra lines (a stderr tail)."""

    exit_status = EXIT_FAILED

    def __init__(self, message: str, code: ErrorCode | None = None, detail: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.detail = tuple(detail)


class DeployUsageError(DeployError):
    """The command line asks for something this tool cannot do as given (exit 2)."""

    exit_status = EXIT_USAGE


class RootBusy(DeployError):
    """Another process held the root lock for longer than ``--wait`` (exit 3: try again)."""

    exit_status = EXIT_BUSY


class UnsafeRootEntry(DeployError):
    """A file or directory of the root is not what the tool writes there (a link, a FIFO, a directory): 2008."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ErrorCode.INTEGRITY_ERROR)


class Terminated(BaseException):
    """SIGTERM arrived: unwinds like KeyboardInterrupt so every ``finally`` cleans up."""

"""User-facing errors, named by what went wrong: each carries what its message needs, renders without a traceback,
and takes its contract error code (CONTRACT.md section 7) from the one table, ``deploy.codes.ErrorCode``.
"""

from __future__ import annotations

from procvision_build.deploy.codes import ErrorCode


class BuildError(Exception):
    """An error meant for the user: ``str(error)`` is the whole message."""

    code: ErrorCode | None = None  # the contract's error code, when one applies
    exit_status: int = 1


class ConfigError(BuildError):
    """``pyproject.toml`` is wrong; lists every problem found, not just the first."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = list(problems)
        lines = [f"{path}: {len(self.problems)} problem(s) in the project configuration:"]
        lines += [f"  - {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))


class ProjectNotFound(BuildError):
    """The directory given as a project does not exist, or holds no ``pyproject.toml``."""


class ConfigSettingsError(BuildError):
    """A build frontend passed a config setting (``-C key=value``) the backend does not accept."""


class BuildEnvironmentError(BuildError):
    """An environment variable the build reads (``SOURCE_DATE_EPOCH``) holds a value it cannot use."""


class ImportCheckError(BuildError):
    """A bundle does not install or its packages do not import on this machine (2005); no bundle was written."""

    code = ErrorCode.INSTALL_FAILED

    def __init__(self, message: str, detail: "list[str] | tuple[str, ...]" = ()) -> None:
        super().__init__("\n".join([message, *(f"  {line}" for line in detail)]))


class IntegrityError(BuildError):
    """A downloaded or installed file does not match its expected hash (2008)."""

    code = ErrorCode.INTEGRITY_ERROR


# -- targets, resolution, local sources, lock (resolver) ----------------------------


class BundleLayoutError(BuildError):
    """A bundle was written that its target's Python could not start (``python BUNDLE.zip``): never shipped."""

    code = ErrorCode.INVALID_BUNDLE


class TargetError(BuildError):
    """A target cannot be expanded (unknown platform tag) or cannot decide a marker."""


class UndecidableMarker(TargetError):
    """A dependency's marker needs a value the target does not declare."""

    def __init__(self, marker: str, variable: str, target: str, where: str, example: str) -> None:
        self.marker, self.variable, self.target = marker, variable, target
        super().__init__(
            f"target {target}: cannot decide the marker `{marker}` ({where}): "
            f"`{variable}` is not known for this target. Settle it in pyproject.toml under that "
            f"[[tool.procvision.targets]] entry, for example: markers = {{ {variable} = \"{example}\" }}"
        )


class ResolutionError(BuildError):
    """No set of wheels satisfies the requirements for a target; the message explains why.

    ``unsatisfied`` names the packages that had no fitting wheel, so a caller can add what it knows.
    """

    def __init__(self, message: str, unsatisfied: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.unsatisfied = unsatisfied


class LocalSourceError(BuildError):
    """A ``[tool.procvision.sources]`` entry cannot be built or used."""


class LockError(BuildError):
    """``pylock.toml`` is unreadable, or stale when ``--locked`` forbids re-resolving."""


# -- package indexes, pip configuration, cache, downloads (index) -------------------


class IndexConfigError(BuildError):
    """The index settings (pip's configuration or [tool.procvision.index]) are unusable."""


class IndexUnavailable(BuildError):
    """An index, find-links page or file could not be read; the message says what to try."""

    def __init__(self, url: str, problem: str, hint: str) -> None:
        self.url, self.problem, self.hint = url, problem, hint  # url is already redacted
        super().__init__(f"{url}: {problem}. {hint}")


class NotInCache(BuildError):
    """Offline mode needs a file or page that the cache does not hold."""


# -- the developer commands (init, validate, run) -------------------------------------


class UsageError(BuildError):
    """A command-line value is unusable (``--params`` that is not a JSON object, a bad ``--target``)."""

    exit_status = 2


class PathConflict(BuildError):
    """A path is in the way: writing would overwrite a file, or a file stands where a folder must go."""


class ImageFileError(BuildError):
    """An ``--image`` file is missing or is not a readable JPEG or PNG."""


class RuntimeMissing(BuildError):
    """This interpreter cannot import the SDK (or numpy, pillow), so it cannot run the algorithm."""


class AlgorithmStartError(BuildError):
    """The algorithm process did not complete the handshake; ``stage`` is the load step that failed
    (``import``, ``class``, ``setup``, ``get_info``)."""

    def __init__(self, stage: str, message: str, hint: str = "", traceback_text: str = "") -> None:
        self.stage, self.message, self.hint = stage, message, hint
        self.traceback_text = traceback_text  # the algorithm's own traceback, shown with --verbose
        super().__init__(f"the algorithm did not start: {message}" + (f"; {hint}" if hint else ""))

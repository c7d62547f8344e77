"""Where packages come from: ``[[tool.procvision.index]]``, else pip's own configuration.

pip's order is followed: configuration files (global, user, site, then the file
named by ``PIP_CONFIG_FILE``), sections ``[global]`` then ``[install]``/``[download]``,
and ``PIP_*`` environment variables above all. The default index is asked of pip
itself, so no registry address is written in this code.
"""

from __future__ import annotations

import configparser
import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from procvision_build.config.model import IndexSpec, NamedIndex
from procvision_build.errors import IndexConfigError

DEFAULT_TIMEOUT = 15.0
DEFAULT_RETRIES = 3

# Later sections win, as in pip: a command's section overrides [global].
_SECTIONS = ("global", "install", "download")
_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f", ""}


@dataclass(frozen=True)
class IndexSources:
    """The indexes of one run, in priority order, with how a project is looked up across them."""

    indexes: tuple[NamedIndex, ...]  # priority order; URLs may carry credentials
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    cert: str | None = None  # a CA bundle for https (pip's ``cert``); None: the system's
    strategy: str = "first-index"  # or "unsafe-best-match": every index merged (pip's rule)

    @classmethod
    def pip_style(cls, index_urls: Sequence[str], find_links: Sequence[str] = (), **options: Any) -> "IndexSources":
        """pip's options read as uv reads them: find-links (flat, always added), the extra indexes, then the
        main one (``index_urls[0]``) last."""
        main, extras = (index_urls[0], index_urls[1:]) if index_urls else (None, ())
        indexes = [NamedIndex(f"pip-find-links-{n}", entry, flat=True) for n, entry in enumerate(find_links, 1)]
        indexes += [NamedIndex(f"pip-extra-{n}", url) for n, url in enumerate(extras, 1)]
        if main is not None:
            indexes.append(NamedIndex("pip", main, default=True))
        return cls(tuple(indexes), **options)

    @property
    def index_urls(self) -> tuple[str, ...]:
        return tuple(index.url for index in self.indexes if not index.flat)

    @property
    def find_links(self) -> tuple[str, ...]:
        return tuple(index.url for index in self.indexes if index.flat)


def index_sources(project: IndexSpec | None = None, *, isolated: bool = False,
                  env: Mapping[str, str] | None = None) -> IndexSources:
    """[[tool.procvision.index]] first, then pip's index unless one of them is the default; without them,
    pip's environment variables, then its config files, then pip's own default index.
    ``isolated=True`` ignores pip's configuration entirely."""
    env = os.environ if env is None else env
    settings = {} if isolated else pip_settings(env)
    default_index = functools.partial(default_index_url, isolated)
    options: dict[str, Any] = dict(timeout=_number(settings, ("timeout",), DEFAULT_TIMEOUT, float),
                                   retries=int(_number(settings, ("retries",), DEFAULT_RETRIES, int)),
                                   cert=settings.get("cert") or None)
    if project is not None:
        options["strategy"] = project.strategy
    if project is not None and project.indexes:
        # The project names its indexes: pip's extra indexes and find-links do not apply;
        # pip's main index is asked last, unless one of the project's is the default.
        indexes = project.ordered()
        if not any(index.default for index in indexes):
            main = settings.get("index-url") or default_index()
            indexes += (NamedIndex("pip", main, default=True),)
        return IndexSources(indexes, **options)
    # pip's own configuration is looked up by pip's rule (every index merged, the newest fitting release wins),
    # as pip itself would install from it; first-index is for indexes the project declares.
    options.setdefault("strategy", "unsafe-best-match")
    find_links = tuple(settings.get("find-links", "").split())
    if _flag(settings, "no-index"):
        if not find_links:
            raise IndexConfigError(
                "pip's configuration sets no-index and no find-links, so there is nowhere to look for "
                "packages: unset PIP_NO_INDEX (or `no-index` in pip.conf), add find-links, or declare "
                "[[tool.procvision.index]] in pyproject.toml")
        return IndexSources.pip_style((), find_links, **options)
    main = settings.get("index-url") or default_index()
    extras = tuple(settings.get("extra-index-url", "").split())
    return IndexSources.pip_style((main, *extras), find_links, **options)


def pip_settings(env: Mapping[str, str]) -> dict[str, str]:
    """pip's effective option values (``index-url``, ``find-links``, ...), as raw strings."""
    per_section: dict[str, dict[str, str]] = {section: {} for section in _SECTIONS}
    for path in config_files(env):
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError) as error:
            raise IndexConfigError(f"{path}: pip's configuration file cannot be read ({error}); "
                                   "fix it, or set PIP_CONFIG_FILE to another file") from error
        for section in _SECTIONS:
            if parser.has_section(section):
                for key, value in parser.items(section):
                    per_section[section][_option(key)] = value
    merged: dict[str, str] = {}
    for section in _SECTIONS:
        merged.update(per_section[section])
    for key, value in env.items():
        if key.startswith("PIP_") and key != "PIP_CONFIG_FILE":
            merged[_option(key[4:])] = value
    return merged


def config_files(env: Mapping[str, str]) -> list[Path]:
    """pip's configuration files that exist, lowest priority first."""
    named = env.get("PIP_CONFIG_FILE")
    if named is not None and named == os.devnull:
        return []  # pip: PIP_CONFIG_FILE=os.devnull disables every file
    files = _global_files(env)
    if not (named and Path(named).exists()):  # pip skips the user's files when the named one exists
        files += _user_files(env)
    files.append(Path(sys.prefix) / ("pip.ini" if os.name == "nt" else "pip.conf"))
    if named:
        files.append(Path(named))
    return [path for path in files if path.is_file()]


def _global_files(env: Mapping[str, str]) -> list[Path]:
    if os.name == "nt":
        return [Path(env.get("ProgramData", r"C:\ProgramData")) / "pip" / "pip.ini"]
    if sys.platform == "darwin":
        return [Path("/Library/Application Support/pip/pip.conf")]
    dirs = [d for d in env.get("XDG_CONFIG_DIRS", "/etc/xdg").split(os.pathsep) if d]
    return [Path(d) / "pip" / "pip.conf" for d in dirs] + [Path("/etc/pip.conf")]


def _user_files(env: Mapping[str, str]) -> list[Path]:
    if os.name == "nt":  # pip: ~\pip\pip.ini (legacy), then %APPDATA%\pip\pip.ini, which wins
        files = [Path(env.get("USERPROFILE") or Path.home()) / "pip" / "pip.ini"]
        appdata = env.get("APPDATA")
        return files + ([Path(appdata) / "pip" / "pip.ini"] if appdata else [])
    home = Path(env.get("HOME") or Path.home())
    files = [home / ".pip" / "pip.conf"]  # legacy location first: the XDG one wins
    if sys.platform == "darwin":
        files.append(home / "Library" / "Application Support" / "pip" / "pip.conf")
    files.append(Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "pip" / "pip.conf")
    return files


# Asked of another interpreter's pip: the index its own rules give (its site pip.conf included), which is what
# it would install from. ``--isolated`` asks for pip's built-in default, ignoring configuration.
_PROBE = """
import sys
from pip._internal.commands import create_command
options, _ = create_command("download").parse_args(sys.argv[1:])
print(options.index_url)
"""
# Variables that would keep the other interpreter from seeing its own pip (a frontend's isolated environment).
_PROBE_DROPS = ("PYTHONPATH", "PYTHONHOME", "PYTHONNOUSERSITE", "PYTHONSAFEPATH", "__PYVENV_LAUNCHER__")


@functools.cache
def default_index_url(isolated: bool = False) -> str:
    """The index pip installs from when none is configured here: this interpreter's pip, else the pip of the
    interpreter this environment was made from (a build frontend's), of the base installation, or on PATH."""
    try:  # this interpreter's pip answers in milliseconds; a subprocess costs a few hundred
        from pip._internal.models.index import PyPI

        if PyPI.simple_url.startswith(("http://", "https://")):
            return PyPI.simple_url
    except Exception:  # no pip here (an isolated build environment), or one whose internals moved
        pass
    found = ask_pip(_PROBE, ["--isolated"] if isolated else [],
                    accept=lambda line: line.startswith(("http://", "https://")))
    if found is not None:
        return found
    raise IndexConfigError(
        "no package index is configured and no pip on this machine could name its default one: "
        "set PIP_INDEX_URL, `index-url` in pip.conf, or declare [[tool.procvision.index]] in pyproject.toml "
        "(or use find-links)")


def ask_pip(code: str, args: Sequence[str] = (), *, accept: Callable[[str], bool]) -> str | None:
    """The last line ``python -c CODE ARGS`` prints, from the first interpreter of ``interpreters_to_ask`` whose
    pip runs it and whose answer ``accept`` takes; None when none does."""
    env = {key: value for key, value in os.environ.items() if key not in _PROBE_DROPS}
    for python in interpreters_to_ask(Path(sys.prefix)):
        try:
            done = subprocess.run([python, "-c", code, *args], capture_output=True, text=True, timeout=60, env=env)
        except (OSError, subprocess.SubprocessError):
            continue
        lines = done.stdout.strip().splitlines()
        if done.returncode == 0 and lines and accept(lines[-1]):
            return lines[-1]
    return None


def interpreters_to_ask(prefix: Path) -> list[str]:
    """Interpreters whose pip may name the default index, in order: this one (a frontend's, when pip hid its
    own pip from the build), the one a venv at ``prefix`` was made from, its base installation, then PATH's."""
    candidates = [sys.executable, *venv_creators(prefix), getattr(sys, "_base_executable", None),
                  shutil.which("python3"), shutil.which("python")]
    return list(dict.fromkeys(str(c) for c in candidates if c))


def venv_creators(prefix: Path) -> list[str]:
    """The interpreter that made the venv at ``prefix``, from its ``pyvenv.cfg``: ``command`` (3.11+: the
    creator's own executable, a build frontend's venv), then ``home`` (the creator's folder before 3.11)."""
    try:
        text = (prefix / "pyvenv.cfg").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip().lower()] = value.strip()
    found = []
    command = values.get("command", "")
    if " -m venv" in command:
        found.append(command.split(" -m venv", 1)[0].strip())
    home = values.get("home")
    if home:
        names = ("python.exe",) if os.name == "nt" else ("python3", "python")
        found += [str(Path(home) / name) for name in names if (Path(home) / name).exists()]
    return found


def _option(key: str) -> str:
    key = key.lower().replace("_", "-")
    return "timeout" if key == "default-timeout" else key  # pip's two names for one option


def _flag(settings: Mapping[str, str], key: str) -> bool:
    value = settings.get(key)
    if value is None:
        return False
    value = value.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise IndexConfigError(f"pip's `{key}` is {value!r}; expected a yes/no value such as 1, 0, true or false")


def _number(settings: Mapping[str, str], keys: tuple[str, ...], default: float, kind: type) -> float:
    for key in keys:
        if key in settings:
            try:
                return kind(settings[key])
            except ValueError:
                variable = "PIP_DEFAULT_TIMEOUT / PIP_TIMEOUT" if key == "timeout" else f"PIP_{key.upper()}"
                raise IndexConfigError(f"pip's `{key}` is {settings[key]!r}; expected a number "
                                       f"(check {variable} and pip.conf)") from None
    return default

"""The first thing a bundle or the root tool runs: refuse an interpreter older than the tool needs (2003).

Written so that Python 2.7 and every 3.x parse it (no f-strings, no annotations: type comments), and it
imports nothing but ``sys`` until it refuses; the rest of the package is imported only after it passes.
"""

import sys

#: The deploy tool runs on CPython 3.10 and newer (CONTRACT.md section 6).
MINIMUM = (3, 10)
EXIT_FAILED = 1
CODE = "2003"


def require(argv=None):
    # type: (list[str] | None) -> None
    """Return on a Python the tool runs on; otherwise print the one 2003 line and exit 1."""
    if sys.version_info[:2] >= MINIMUM:
        return
    arguments = list(sys.argv[1:] if argv is None else argv)
    message = refusal(_archive())
    if "--json" in arguments:
        import json

        line = json.dumps({"event": "error", "code": CODE, "message": message})
    else:
        line = "error [" + CODE + "]: " + message
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
    sys.exit(EXIT_FAILED)


def refusal(archive):
    # type: (str | None) -> str
    """The message: what the bundle (or the tool) needs, what runs it, and how to run it instead."""
    name = _basename(archive) if archive else "the procvision deploy tool"
    this = "%s %s (%s)" % (_implementation(), ".".join(str(part) for part in sys.version_info[:3]), sys.executable)
    target = _bundle_target(archive) if archive else None
    if target is not None:
        python = target.get("python") or "%d.%d" % MINIMUM
        needs = "CPython %s (%s) on %s" % (python, target.get("abi", "?"), target.get("platform", "?"))
        run = "<python%s> %s ..." % (python, name)
    else:
        needs = "Python %d.%d or newer" % MINIMUM
        run = "<python3.10 or newer> %s ..." % name
    return "%s needs %s, but this is %s. Run it with that Python: %s" % (name, needs, this, run)


def _implementation():
    # type: () -> str
    import platform

    return platform.python_implementation()


def _archive():
    # type: () -> str | None
    """The zip this module runs from (``.../BUNDLE.zip/_procvision_deploy/python_check.py``), if any."""
    import os.path

    archive = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return archive if os.path.isfile(archive) else None


def _basename(path):
    # type: (str) -> str
    import os.path

    return os.path.basename(path)


def _bundle_target(archive):
    # type: (str) -> dict | None
    """The manifest's ``target`` of a bundle (None for the root tool, or when it cannot be read)."""
    try:
        import json
        import zipfile

        with zipfile.ZipFile(archive) as opened:
            names = [name for name in opened.namelist()
                     if name.count("/") == 1 and name.endswith("/manifest.json") and not name.startswith("_")]
            if len(names) != 1:
                return None
            target = json.loads(opened.read(names[0]).decode("utf-8")).get("target")
    except Exception:  # noqa: BLE001 - only a nicer message is at stake: fall back to the tool's minimum
        return None
    return target if isinstance(target, dict) else None

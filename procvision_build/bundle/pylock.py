"""The ``pylock.toml`` inside one target's bundle: exactly its wheels, by ``wheels/<file>`` path."""

from __future__ import annotations

from typing import Sequence

from procvision_build.files import toml_value
from procvision_build.lock.lockfile import CREATED_BY
from procvision_build.lock.plan import ResolvedWheel
from procvision_build.resolve.targets import Target


def render_bundle_lock(target: Target, wheels: Sequence["ResolvedWheel"], *, requires_python: str | None = None) -> str:
    """The ``pylock.toml`` inside one target's bundle: exactly ``wheels``, by ``wheels/<file>`` path."""
    out = [f"lock-version = {toml_value('1.0')}", f"environments = {toml_value([target.marker_expression()])}"]
    if requires_python:
        out.append(f"requires-python = {toml_value(requires_python)}")
    out.append(f"created-by = {toml_value(CREATED_BY)}")
    for wheel in sorted(wheels, key=lambda w: (w.name, w.filename)):
        out += ["", "[[packages]]", f"name = {toml_value(wheel.name)}", f"version = {toml_value(wheel.version)}"]
        if wheel.index:  # PEP 751: where the package can be found, whenever it is known
            out.append(f"index = {toml_value(wheel.index)}")
        out.append("wheels = [")
        out.append(f"    {{ name = {toml_value(wheel.filename)}, path = {toml_value('wheels/' + wheel.filename)}, "
                   f"size = {wheel.path.stat().st_size}, hashes = {{ sha256 = {toml_value(wheel.sha256)} }} }},")
        out.append("]")
    out += ["", "[tool.procvision]", f"target = {toml_value(target.key)}"]
    return "\n".join(out) + "\n"

"""Index pins on one target: ``[tool.procvision.sources] NAME = { index = ..., marker = ... }``.

A package pinned on a target is asked of its index only; where no entry's marker holds, it is not pinned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from packaging.utils import canonicalize_name

from procvision_build.config.model import IndexPin
from procvision_build.resolve.targets import Target

if TYPE_CHECKING:
    from procvision_build.index.client import IndexClient
    from procvision_build.index.links import Link


def pins_for_target(pins: Mapping[str, tuple[IndexPin, ...]], target: Target) -> dict[str, str]:
    """Project name -> index name on ``target``: the first entry whose marker holds there."""
    chosen: dict[str, str] = {}
    for name, entries in pins.items():
        for pin in entries:
            where = f"[tool.procvision.sources] {name} marker {pin.marker!r}"
            if pin.marker is None or target.evaluate(pin.marker, where=where):
                chosen[str(canonicalize_name(name))] = pin.index
                break
    return chosen


class PinnedFinder:
    """The index client as one target sees it: a pinned package comes from its own index, and only from it."""

    def __init__(self, client: "IndexClient", pins: Mapping[str, str]) -> None:
        self.client, self.pins = client, dict(pins)

    def links(self, name: str) -> list["Link"]:
        return self.client.links(name, self.pins.get(str(canonicalize_name(name))))

    def metadata(self, link: "Link") -> bytes:
        return self.client.metadata(link)

    def project_names(self) -> list[str] | None:
        """The projects the client's indexes list, when it can tell (close names for a misspelled one)."""
        names = getattr(self.client, "project_names", None)
        return names() if names is not None else None

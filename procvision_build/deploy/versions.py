"""Ordering versions without ``packaging``: enough of PEP 440 for "newest first" in ``gc`` and the root tool."""

from __future__ import annotations

import re

# typing is imported by the type checker only: the root tool's calls skip it (values.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# a pattern, compiled (and cached by ``re``) at first use: a root tool call that compares no versions skips it
_VERSION = (r"(?i)^v?(?:(\d+)!)?(\d+(?:\.\d+)*)(?:[-_.]?(a|alpha|b|beta|c|rc|pre|preview)[-_.]?(\d*))?"
            r"(?:(?:[-_.]?(?:post|rev|r)[-_.]?(\d*))|-(\d+))?(?:[-_.]?dev[-_.]?(\d*))?(?:\+(.*))?$")
_PRE = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}


def version_key(text: str) -> tuple[Any, ...]:
    """A sort key: PEP 440 order for the usual forms; anything else sorts below every PEP 440 version."""
    match = re.match(_VERSION, text.strip())
    if not match:
        return (-1, text)
    epoch, release, pre_tag, pre_number, post, post_implicit, dev, local = match.groups()
    numbers = [int(part) for part in release.split(".")]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    post_number = post if post is not None else post_implicit
    if pre_tag is None and post_number is None and dev is not None:
        pre = (-1, 0)  # 1.0.dev1 sorts before 1.0a1
    elif pre_tag is None:
        pre = (3, 0)
    else:
        pre = (_PRE[pre_tag.lower()], int(pre_number or 0))
    post_key = -1 if post_number is None else int(post_number or 0)
    dev_key = float("inf") if dev is None else int(dev or 0)
    return (0, int(epoch or 0), tuple(numbers), pre, post_key, dev_key, local or "")

"""Credentials in index URLs: split out once, masked in every message, sent only to their own host.

One process-wide registry (from a named index's ``PROCVISION_INDEX_<NAME>_*`` variables, index URLs'
userinfo, else ``~/.netrc``), so URLs handed around (links, locks, messages) never carry secrets.
"""

from __future__ import annotations

import base64
import netrc
import os
import threading
from typing import Mapping
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from procvision_build.config.model import NamedIndex


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """``https://user:pw@host/x`` -> (``https://host/x``, "user", "pw"); a lone token is the user."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, has_password, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=host)), user, password if has_password else None


def redact_url(url: str) -> str:
    """The URL with its password (or lone token) replaced by ****, safe for messages and logs."""
    bare, user, password = split_credentials(url)
    if user is None:
        return url
    shown = f"{user}:****" if password is not None else "****"
    parts = urlsplit(bare)
    return urlunsplit(parts._replace(netloc=f"{shown}@{parts.netloc}"))


class _Credentials:
    """Basic-auth credentials per index: from a named index's environment variables, index URLs' userinfo,
    else ~/.netrc. Process-wide, so files listed by an index (often elsewhere on the same host, without
    userinfo) are fetched with them. A URL gets the credentials of the longest index URL it starts with;
    elsewhere on that host, the host's credentials if all its indexes share them; never another host's."""

    def __init__(self) -> None:
        self._by_netloc: dict[str, dict[str, tuple[str, str]]] = {}  # netloc -> path prefix -> (user, password)
        self._lock = threading.Lock()
        self._netrc: dict[str, netrc.netrc | None] = {}  # by path: $NETRC may change between runs

    def strip(self, url: str) -> str:
        """Remember the credentials inside ``url`` and return it without them."""
        bare, user, password = split_credentials(url)
        if user is not None:
            self.remember(bare, unquote(user), unquote(password or ""))
        return bare

    def remember(self, url: str, user: str, password: str) -> None:
        """Send (user, password) to ``url`` and everything under it."""
        parts = urlsplit(url)
        with self._lock:
            self._by_netloc.setdefault(parts.netloc.lower(), {})[parts.path.rstrip("/") + "/"] = (user, password)

    def register_index(self, index: NamedIndex, env: Mapping[str, str] | None = None) -> str:
        """A named index's URL without credentials; its credentials remembered, from
        ``PROCVISION_INDEX_<NAME>_USERNAME`` / ``_PASSWORD`` when set, else from the URL itself."""
        bare = self.strip(index.url)
        env = os.environ if env is None else env
        variable = f"PROCVISION_INDEX_{index.env_name}"
        user, password = env.get(f"{variable}_USERNAME"), env.get(f"{variable}_PASSWORD")
        if (user or password) and "://" in bare and not bare.startswith("file:"):
            self.remember(bare, user or "", password or "")
        return bare

    def _find(self, url: str) -> tuple[str, str] | None:
        parts = urlsplit(url)
        with self._lock:
            known = self._by_netloc.get(parts.netloc.lower())
            if not known:
                return None
            path = parts.path if parts.path.endswith("/") else parts.path + "/"
            prefixes = [prefix for prefix in known if path.startswith(prefix)]
            if prefixes:
                return known[max(prefixes, key=len)]
            distinct = set(known.values())
            return distinct.pop() if len(distinct) == 1 else None

    def shown(self, url: str) -> str:
        """``url`` for a message: the user name we send, if any, with the password masked."""
        parts = urlsplit(url)
        if "@" in parts.netloc:
            return redact_url(url)
        found = self._find(url)
        if not found:
            return url
        userinfo = f"{quote(found[0], safe='')}:x" if found[1] else "x"
        return redact_url(urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}")))

    def header(self, url: str) -> str | None:
        parts = urlsplit(url)
        found = self._find(url)
        if found is None and parts.hostname:
            found = self._from_netrc(parts.hostname)
        if found is None:
            return None
        token = base64.b64encode(f"{found[0]}:{found[1]}".encode()).decode()
        return f"Basic {token}"

    def _from_netrc(self, host: str) -> tuple[str, str] | None:
        path = os.environ.get("NETRC") or os.path.join(os.path.expanduser("~"), ".netrc")
        with self._lock:
            if path not in self._netrc:
                try:
                    self._netrc[path] = netrc.netrc(path) if os.path.isfile(path) else None
                except (netrc.NetrcParseError, OSError):
                    self._netrc[path] = None  # an unreadable netrc counts as none, as in pip
            parsed = self._netrc[path]
        found = parsed.authenticators(host) if parsed else None
        if not found:
            return None
        login, _, password = found
        return (login or "", password or "")


CREDENTIALS = _Credentials()

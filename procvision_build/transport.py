"""HTTP for indexes and downloads: timeouts, retries with backoff, Basic auth, readable failures.

Credentials live in one process-wide registry (from index URLs' userinfo, else
``~/.netrc``), so URLs handed around (links, locks, messages) never carry secrets.
"""

from __future__ import annotations

import base64
import gzip
import http.client
import netrc
import os
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any, Callable, Mapping, TypeVar
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from procvision_build.errors import IndexUnavailable
from procvision_build.pipconfig import IndexSources, redact_url

NETWORK_HINT = ("Check the URL, PIP_INDEX_URL / PIP_EXTRA_INDEX_URL or [tool.procvision.index] in "
                "pyproject.toml, and proxy variables (HTTPS_PROXY, HTTP_PROXY, NO_PROXY); a build "
                "from an existing pylock.toml can run with --offline")


@dataclass(frozen=True)
class Response:
    status: int
    url: str  # after redirects
    headers: Message
    body: bytes


class _Credentials:
    """Basic-auth credentials per host: from index URLs' userinfo, else ~/.netrc. Process-wide,
    so files listed by an index (often on the same host, without userinfo) are fetched with them."""

    def __init__(self) -> None:
        self._by_netloc: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()
        self._netrc: dict[str, netrc.netrc | None] = {}  # by path: $NETRC may change between runs

    def strip(self, url: str) -> str:
        """Remember the credentials inside ``url`` and return it without them."""
        parts = urlsplit(url)
        if "@" not in parts.netloc:
            return url
        userinfo, host = parts.netloc.rsplit("@", 1)
        user, _, password = userinfo.partition(":")
        with self._lock:
            self._by_netloc[host.lower()] = (unquote(user), unquote(password))
        return urlunsplit(parts._replace(netloc=host))

    def shown(self, url: str) -> str:
        """``url`` for a message: the user name we send, if any, with the password masked."""
        parts = urlsplit(url)
        if "@" in parts.netloc:
            return redact_url(url)
        with self._lock:
            found = self._by_netloc.get(parts.netloc.lower())
        if not found:
            return url
        userinfo = f"{quote(found[0], safe='')}:x" if found[1] else "x"
        return redact_url(urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}")))

    def header(self, url: str) -> str | None:
        parts = urlsplit(url)
        with self._lock:
            found = self._by_netloc.get(parts.netloc.lower())
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


class _AuthHandler(urllib.request.BaseHandler):
    """Sets Basic auth for each request's own host, so a redirect elsewhere never carries it."""

    handler_order = 1000  # after the other pre-processors

    def http_request(self, request: urllib.request.Request) -> urllib.request.Request:
        request.remove_header("Authorization")
        value = CREDENTIALS.header(request.full_url)
        if value:
            request.add_unredirected_header("Authorization", value)
        return request

    https_request = http_request


_RETRYABLE = (ConnectionError, TimeoutError, socket.timeout, http.client.HTTPException, urllib.error.URLError)
T = TypeVar("T")


class Http:
    """GET with timeouts, retries (connection errors and 5xx, with backoff) and Basic auth."""

    def __init__(self, timeout: float = 15.0, retries: int = 3, cert: str | None = None,
                 backoff: float = 0.2) -> None:
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        handlers: list[urllib.request.BaseHandler] = [_AuthHandler()]
        if cert:
            handlers.append(urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=cert)))
        self._opener = urllib.request.build_opener(*handlers)

    @classmethod
    def for_sources(cls, sources: IndexSources) -> "Http":
        return cls(sources.timeout, sources.retries, sources.cert)

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> Response:
        """The whole response, whatever its status; IndexUnavailable once retries run out."""
        def read_all(opened: Opened) -> Response:
            body = opened.read()
            if opened.headers.get("Content-Encoding", "").lower() == "gzip":
                body = gzip.decompress(body)
            return Response(opened.status, opened.url, opened.headers, body)

        return self.call(url, headers or {}, read_all)

    def call(self, url: str, headers: Mapping[str, str], consume: Callable[[Opened], T]) -> T:
        """Open ``url`` and hand the response to ``consume``; a connection error, a timeout or a
        5xx anywhere in between starts the whole exchange again, up to ``retries`` more times."""
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                with self._open(url, headers) as opened:
                    if opened.status < 500:
                        return consume(opened)
                    problem = f"the server answered HTTP {opened.status}"
            except _RETRYABLE as error:
                if isinstance(getattr(error, "reason", None), ssl.SSLCertVerificationError):
                    raise IndexUnavailable(CREDENTIALS.shown(url), describe_network_error(error), NETWORK_HINT) from None
                problem = describe_network_error(error)
        tries = self.retries + 1
        raise IndexUnavailable(CREDENTIALS.shown(url), f"{problem} (after {tries} attempt{'s' * (tries > 1)})",
                               NETWORK_HINT)

    def _open(self, url: str, headers: Mapping[str, str]) -> "Opened":
        request = urllib.request.Request(url, headers=dict(headers))
        try:
            response = self._opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as error:  # 4xx/5xx/304 are answers, not failures
            return Opened(error, error.code, error.geturl() or url)
        return Opened(response, response.status, response.geturl())


class Opened:
    """An open HTTP response: status, final URL, headers, and the body to read; closes on exit."""

    def __init__(self, raw: Any, status: int, url: str) -> None:
        self.raw, self.status, self.url = raw, status, url
        self.headers: Message = raw.headers

    def read(self, size: int = -1) -> bytes:
        return self.raw.read(size)

    def __enter__(self) -> "Opened":
        return self

    def __exit__(self, *exc: object) -> None:
        self.raw.close()


def describe_network_error(error: BaseException) -> str:
    """A short, credential-free account of a failed connection."""
    reason = getattr(error, "reason", error)
    if isinstance(reason, ssl.SSLCertVerificationError):
        return f"the TLS certificate could not be verified ({reason.verify_message}); set PIP_CERT or `cert` to a CA bundle"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (nothing listens at that address)"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "the connection timed out"
    if isinstance(reason, socket.gaierror):
        return f"the host name could not be resolved ({reason.strerror})"
    text = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
    return f"the connection failed ({text})"

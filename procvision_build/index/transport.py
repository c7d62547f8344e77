"""HTTP for indexes and downloads: timeouts, retries with backoff, Basic auth, readable failures."""

from __future__ import annotations

import gzip
import http.client
import socket
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any, Callable, Mapping, TypeVar

from procvision_build.errors import IndexUnavailable
from procvision_build.index.credentials import CREDENTIALS
from procvision_build.index.pipconfig import IndexSources

NETWORK_HINT = ("Check the URL, PIP_INDEX_URL / PIP_EXTRA_INDEX_URL or [[tool.procvision.index]] in "
                "pyproject.toml, and proxy variables (HTTPS_PROXY, HTTP_PROXY, NO_PROXY); a build "
                "from an existing pylock.toml can run with --offline")


@dataclass(frozen=True)
class Response:
    status: int
    url: str  # after redirects
    headers: Message
    body: bytes


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

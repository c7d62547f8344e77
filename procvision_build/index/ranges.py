"""``RangeFile``: a remote wheel read through HTTP range requests, so METADATA costs a few KiB, not the wheel."""

from __future__ import annotations

import re
from email.message import Message
from pathlib import Path

from procvision_build.deploy.member_file import SeekableBytes
from procvision_build.errors import IndexUnavailable
from procvision_build.index.credentials import CREDENTIALS
from procvision_build.index.links import Link
from procvision_build.index.transport import NETWORK_HINT, Http, Opened
from procvision_build.index.wheel_files import store_response
from procvision_build.store.cache import Cache

_TAIL = 64 * 1024  # the first range request: the end record, and often the whole central directory
_LOOKBEHIND = 256 * 1024  # a wheel's dist-info files sit just before its central directory


class RangeFile(SeekableBytes):
    """A read-only, seekable view of a remote file that fetches only the byte ranges zipfile reads."""

    def __init__(self, http: Http, link: Link, cache: Cache) -> None:
        super().__init__()
        self.http, self.link, self.cache = http, link, cache
        self.whole: Path | None = None
        self._chunks: list[tuple[int, bytes]] = []  # (offset, bytes); the first runs to the end of the file
        self._position = 0
        self.size = 0

        def first(opened: Opened) -> None:
            if opened.status == 200:  # the server ignores Range: keep the whole wheel, checked
                self.whole = store_response(link, link.url, opened, cache)
                return
            _expect_partial(opened.status, link)
            body = opened.read()
            self.size = _total_size(opened.headers, link)
            self._chunks.append((self.size - len(body), body))

        http.call(link.url, {"Range": f"bytes=-{_TAIL}", "Accept-Encoding": "identity"}, first)

    def read(self, size: int = -1) -> bytes:
        start = self._position
        end = self.size if size is None or size < 0 else min(self.size, start + size)
        if start >= end:
            return b""
        data = self._cached(start, end)
        if data is None:
            self._fetch_around(start, end)
            data = self._cached(start, end) or b""
        self._position = start + len(data)
        return data

    def _fetch_around(self, start: int, end: int) -> None:
        tail_start, tail = self._chunks[0]
        if tail_start - end <= _LOOKBEHIND:
            # Near the tail: grow it backwards past what was asked, so the dist-info members
            # that precede the central directory usually arrive with it, in this one request.
            begin = max(0, min(start, tail_start) - _LOOKBEHIND)
            self._chunks[0] = (begin, self._range(begin, tail_start) + tail)
        else:  # far away (METADATA early in the zip): fetch just that, at least a block
            stop = min(self.size, max(end, start + _TAIL))
            self._chunks.append((start, self._range(start, stop)))

    def _range(self, begin: int, stop: int) -> bytes:
        response = self.http.get(self.link.url, {"Range": f"bytes={begin}-{stop - 1}", "Accept-Encoding": "identity"})
        _expect_partial(response.status, self.link)
        if len(response.body) != stop - begin:
            raise IndexUnavailable(CREDENTIALS.shown(self.link.url), f"a range request for bytes {begin}-{stop - 1} "
                                   f"returned {len(response.body)} bytes", NETWORK_HINT)
        return response.body

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _cached(self, start: int, end: int) -> bytes | None:
        for offset, body in self._chunks:
            if offset <= start and end <= offset + len(body):
                return body[start - offset : end - offset]
        return None


def _expect_partial(status: int, link: Link) -> None:
    if status != 206:
        raise IndexUnavailable(CREDENTIALS.shown(link.url), f"a range request was answered with HTTP {status}",
                               NETWORK_HINT)


def _total_size(headers: Message, link: Link) -> int:
    match = re.match(r"bytes \d+-\d+/(\d+)", headers.get("Content-Range", ""))
    if not match:
        raise IndexUnavailable(CREDENTIALS.shown(link.url), "the server's answer to a range request has no "
                               "usable Content-Range header", NETWORK_HINT)
    return int(match.group(1))

"""A real package index on 127.0.0.1, served from a folder of wheels (PEP 503, 691, 658, 714).

Tests build the wheels themselves (see ``wheels.py``), drop them in a folder and
serve it. Every request is recorded so a test can count whole-wheel downloads.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import threading
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from packaging.utils import canonicalize_name, parse_wheel_filename

JSON_TYPE = "application/vnd.pypi.simple.v1+json"


@dataclass
class Request:
    method: str
    path: str
    range: str | None
    authorization: str | None = None  # the Authorization header sent, if any


@dataclass
class IndexOptions:
    """What the index offers; tests change these between requests if they need to."""

    serve_metadata: bool = True  # PEP 658/714 .metadata files and their keys
    serve_json: bool = True  # PEP 691; HTML (PEP 503) is always there
    yanked: dict[str, str] = field(default_factory=dict)  # filename -> reason
    wrong_hash: set[str] = field(default_factory=set)  # filenames whose listed hash lies
    requires_python: dict[str, str] = field(default_factory=dict)  # filename -> specifier
    serve_ranges: bool = True  # False: ignore Range headers and send whole files (200)
    credentials: tuple[str, str] | None = None  # (user, password) every request must send as Basic auth


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 refuses concurrent clients


class IndexServer:
    """Serve ``root`` (a folder of ``*.whl``) as a simple index until ``stop()``."""

    def __init__(self, root: Path, options: IndexOptions | None = None) -> None:
        self.root = Path(root)
        self.options = options or IndexOptions()
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)  # quick stop()

    @property
    def url(self) -> str:
        """The index URL, as pip's ``--index-url`` takes it."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/simple/"

    def start(self) -> "IndexServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "IndexServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wheel_downloads(self) -> list[Request]:
        """Requests that fetched a whole wheel (no Range header)."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith(".whl") and r.method == "GET" and not r.range]

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- serving -----------------------------------------------------------------

    def _projects(self) -> dict[str, list[Path]]:
        projects: dict[str, list[Path]] = {}
        for wheel in sorted(self.root.glob("*.whl")):
            name = parse_wheel_filename(wheel.name)[0]
            projects.setdefault(str(name), []).append(wheel)
        return projects

    def _file_entry(self, wheel: Path) -> dict:
        data = wheel.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if wheel.name in self.options.wrong_hash:
            digest = hashlib.sha256(b"not the wheel").hexdigest()
        entry: dict = {
            "filename": wheel.name,
            "url": f"../../files/{quote(wheel.name)}",  # a local version's "+" as %2B, as real indexes do
            "hashes": {"sha256": digest},
            "size": len(data),
        }
        if wheel.name in self.options.requires_python:
            entry["requires-python"] = self.options.requires_python[wheel.name]
        if wheel.name in self.options.yanked:
            entry["yanked"] = self.options.yanked[wheel.name] or True
        if self.options.serve_metadata:
            metadata = _wheel_metadata(wheel)
            entry["core-metadata"] = {"sha256": hashlib.sha256(metadata).hexdigest()}
        return entry

    def _handler_class(self):
        index = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_HEAD(self) -> None:
                self._serve(head=True)

            def do_GET(self) -> None:
                self._serve(head=False)

            def _serve(self, head: bool) -> None:
                path = unquote(urlsplit(self.path).path)
                with index._lock:
                    index.requests.append(Request(self.command, path, self.headers.get("Range"),
                                                  self.headers.get("Authorization")))
                parts = [p for p in path.split("/") if p]
                if index.options.credentials and self.headers.get("Authorization") != _basic(
                        *index.options.credentials):
                    return self._send(401, "text/plain", b"credentials required", head,
                                      {"WWW-Authenticate": 'Basic realm="index"'})
                if parts == ["simple"]:
                    return self._project_list(head)
                if len(parts) == 2 and parts[0] == "simple":
                    return self._project_page(parts[1], head)
                if len(parts) == 2 and parts[0] == "files":
                    return self._file(parts[1], head)
                self._send(404, "text/plain", b"not found", head)

            def _wants_json(self) -> bool:
                return index.options.serve_json and JSON_TYPE in self.headers.get("Accept", "")

            def _project_list(self, head: bool) -> None:
                names = sorted(index._projects())
                if self._wants_json():
                    body = json.dumps({"meta": {"api-version": "1.1"},
                                       "projects": [{"name": n} for n in names]}).encode()
                    return self._send(200, JSON_TYPE, body, head)
                links = "".join(f'<a href="{n}/">{n}</a>\n' for n in names)
                self._send(200, "text/html", f"<!DOCTYPE html><html><body>{links}</body></html>".encode(), head)

            def _project_page(self, name: str, head: bool) -> None:
                projects = index._projects()
                canonical = str(canonicalize_name(name))
                if canonical not in projects:
                    return self._send(404, "text/plain", b"no such project", head)
                if name != canonical:  # PEP 503: redirect to the normalized name
                    self.send_response(301)
                    self.send_header("Location", f"/simple/{canonical}/")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                entries = [index._file_entry(w) for w in projects[canonical]]
                if self._wants_json():
                    body = json.dumps({"meta": {"api-version": "1.1"}, "name": canonical,
                                       "files": entries, "versions": []}).encode()
                    ctype = JSON_TYPE
                else:
                    body, ctype = _html_page(canonical, entries).encode(), "text/html"
                etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'  # lets clients revalidate
                if self.headers.get("If-None-Match") == etag:
                    return self._send(304, ctype, b"", True, {"ETag": etag})
                self._send(200, ctype, body, head, {"ETag": etag})

            def _file(self, filename: str, head: bool) -> None:
                if filename.endswith(".metadata"):
                    wheel = index.root / filename[: -len(".metadata")]
                    if not index.options.serve_metadata or not wheel.is_file():
                        return self._send(404, "text/plain", b"no metadata", head)
                    return self._send(200, "application/octet-stream", _wheel_metadata(wheel), head)
                wheel = index.root / filename
                if "/" in filename or not wheel.is_file():
                    return self._send(404, "text/plain", b"no such file", head)
                data = wheel.read_bytes()
                wanted = self.headers.get("Range")
                if wanted and wanted.startswith("bytes=") and index.options.serve_ranges:
                    start, end = _parse_range(wanted[6:], len(data))
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
                    self.send_header("Accept-Ranges", "bytes")
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(end - start + 1))
                    self.end_headers()
                    if not head:
                        self.wfile.write(data[start : end + 1])
                    return
                ranges = {"Accept-Ranges": "bytes"} if index.options.serve_ranges else {}
                self._send(200, "application/octet-stream", data, head, ranges)

            def _send(self, status: int, ctype: str, body: bytes, head: bool,
                      extra: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (extra or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                if not head:
                    self.wfile.write(body)

        return Handler


def _wheel_metadata(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if member.count("/") == 1 and member.endswith(".dist-info/METADATA"):
                return archive.read(member)
    raise FileNotFoundError(f"{wheel.name} has no METADATA")


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _parse_range(spec: str, size: int) -> tuple[int, int]:
    first, _, last = spec.partition("-")
    if not first:  # suffix range: the last N bytes
        return max(0, size - int(last)), size - 1
    return int(first), min(int(last), size - 1) if last else size - 1


def _html_page(name: str, entries: list[dict]) -> str:
    anchors = []
    for entry in entries:
        href = f"{entry['url']}#sha256={entry['hashes']['sha256']}"
        attrs = [f'href="{html.escape(href)}"']
        if "requires-python" in entry:
            attrs.append(f'data-requires-python="{html.escape(entry["requires-python"])}"')
        if entry.get("yanked"):
            reason = entry["yanked"] if isinstance(entry["yanked"], str) else ""
            attrs.append(f'data-yanked="{html.escape(reason)}"')
        if "core-metadata" in entry:
            value = "sha256=" + entry["core-metadata"]["sha256"]
            attrs.append(f'data-core-metadata="{value}" data-dist-info-metadata="{value}"')
        anchors.append(f"<a {' '.join(attrs)}>{html.escape(entry['filename'])}</a><br/>")
    body = "\n".join(anchors)
    return f"<!DOCTYPE html><html><head><title>Links for {name}</title></head><body>{body}</body></html>"


def write_file_index(wheels: Path, root: Path) -> Path:
    """A ``file://`` simple index of the wheels in ``wheels``, laid out as pip reads one
    (``root/<project>/index.html``); returns ``root``."""
    projects: dict[str, list[Path]] = {}
    for wheel in sorted(Path(wheels).glob("*.whl")):
        projects.setdefault(str(parse_wheel_filename(wheel.name)[0]), []).append(wheel)
    for name, files in projects.items():
        entries = [{"filename": wheel.name, "url": wheel.resolve().as_uri().replace(wheel.name, quote(wheel.name)),
                    "hashes": {"sha256": hashlib.sha256(wheel.read_bytes()).hexdigest()}} for wheel in files]
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / "index.html").write_text(_html_page(name, entries), encoding="utf-8")
    return root

"""Credentials, retries and failures against real sockets on 127.0.0.1."""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from procvision_build.config.model import NamedIndex
from procvision_build.errors import IndexUnavailable
from procvision_build.fetch.downloads import fetch
from procvision_build.index.credentials import _Credentials
from procvision_build.index.pages import JSON_TYPE
from procvision_build.ui import UI
from tests.index.helpers import client_for, zip_metadata
from tests.support.index_server import IndexOptions


def _with_userinfo(url: str, userinfo: str) -> str:
    return url.replace("http://", f"http://{userinfo}@", 1)


def test_credentials_in_the_index_url_are_sent_to_the_index_and_its_files(serve, cache, wheels):
    index = serve(IndexOptions(credentials=("builder", "s3cret"), serve_metadata=False))
    client = client_for(_with_userinfo(index.url, "builder:s3cret"), cache=cache)
    [link] = client.links("big")
    assert "s3cret" not in link.url and "builder" not in link.url  # links (and so locks) carry no secrets
    assert client.metadata(link) == zip_metadata(wheels.big)
    paths = fetch([link], cache, UI(stream=io.StringIO()))
    assert paths[link.filename].read_bytes() == wheels.big.read_bytes()


def test_wrong_credentials_fail_with_a_redacted_message(serve, cache):
    index = serve(IndexOptions(credentials=("builder", "s3cret")))
    with pytest.raises(IndexUnavailable) as failure:
        client_for(_with_userinfo(index.url, "builder:wrong-pass"), cache=cache).links("alpha")
    message = str(failure.value)
    assert "wrong-pass" not in message and "builder:****@" in message
    assert "401" in message and "netrc" in message


def test_netrc_supplies_credentials(serve, cache, tmp_path, monkeypatch):
    index = serve(IndexOptions(credentials=("netrc-user", "from-netrc")))
    netrc_file = tmp_path / "netrc"
    netrc_file.write_text("machine 127.0.0.1 login netrc-user password from-netrc\n")
    netrc_file.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc_file))
    assert [link.filename for link in client_for(index.url, cache=cache).links("beta")] == ["beta-1.0-py3-none-any.whl"]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_index_fails_clearly_after_retries(cache):
    url = f"http://user:hidden@127.0.0.1:{_closed_port()}/simple/"
    started = time.monotonic()
    with pytest.raises(IndexUnavailable) as failure:
        client_for(url, cache=cache, retries=2).links("alpha")
    assert time.monotonic() - started < 5
    message = str(failure.value)
    assert "hidden" not in message and "user:****@127.0.0.1" in message
    assert "connection refused" in message and "after 3 attempts" in message
    assert "PIP_INDEX_URL" in message and "--offline" in message


def test_a_silent_server_times_out(cache):
    with socket.socket() as listener:  # accepts connections (backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/simple/"
        started = time.monotonic()
        with pytest.raises(IndexUnavailable, match="timed out"):
            client_for(url, cache=cache, retries=0, timeout=0.3).links("alpha")
        assert time.monotonic() - started < 3


class _Flaky(ThreadingHTTPServer):
    """Answers 503 to the first ``failures`` requests, then a JSON page with one file."""

    daemon_threads = True

    def __init__(self, failures: int) -> None:
        self.failures, self.seen = failures, 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.seen += 1
                if server.seen <= server.failures:
                    body, status, ctype = b"busy", 503, "text/plain"
                else:
                    body = json.dumps({"meta": {"api-version": "1.0"}, "name": "alpha", "files": [
                        {"filename": "alpha-1.0-py3-none-any.whl", "url": "alpha-1.0-py3-none-any.whl",
                         "hashes": {}}]}).encode()
                    status, ctype = 200, JSON_TYPE
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.mark.parametrize("failures, retries, succeeds", [(2, 2, True), (2, 1, False)])
def test_server_errors_are_retried(cache, failures, retries, succeeds):
    server = _Flaky(failures)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        client = client_for(f"http://127.0.0.1:{server.server_address[1]}/simple/", cache=cache, retries=retries)
        if succeeds:
            assert [link.filename for link in client.links("alpha")] == ["alpha-1.0-py3-none-any.whl"]
        else:
            with pytest.raises(IndexUnavailable, match="HTTP 503"):
                client.links("alpha")
        assert server.seen == min(failures + 1, retries + 1)
    finally:
        server.shutdown()
        server.server_close()


def test_credentials_per_index_go_to_the_longest_matching_index_and_never_to_another_host(tmp_path, monkeypatch):
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    registry = _Credentials()
    env = {"PROCVISION_INDEX_TEAM_A_USERNAME": "alice", "PROCVISION_INDEX_TEAM_A_PASSWORD": "pw-a"}
    assert registry.register_index(NamedIndex("team-a", "http://pkgs.example/a/simple/"), env) == \
        "http://pkgs.example/a/simple/"
    assert registry.register_index(NamedIndex("team-b", "http://bob:pw-b@pkgs.example/b/simple/"), {}) == \
        "http://pkgs.example/b/simple/"
    header = registry.header
    assert header("http://pkgs.example/a/simple/numpy/") == header("http://pkgs.example/a/simple/")
    assert "pw-a" not in (registry.shown("http://pkgs.example/a/simple/x/") or "")
    a, b = header("http://pkgs.example/a/simple/x/"), header("http://pkgs.example/b/simple/x/")
    assert a and b and a != b
    assert header("http://pkgs.example/files/x.whl") is None  # two indexes disagree there: neither is sent
    assert header("http://other.example/a/simple/x/") is None  # another host never gets them
    # the environment beats the URL's userinfo for a named index
    registry.register_index(NamedIndex("team-b", "http://bob:pw-b@pkgs.example/b/simple/"),
                            {"PROCVISION_INDEX_TEAM_B_PASSWORD": "pw-env", "PROCVISION_INDEX_TEAM_B_USERNAME": "bob"})
    assert base64.b64decode(header("http://pkgs.example/b/simple/x/").split()[1]) == b"bob:pw-env"

"""The index client against real HTTP indexes on 127.0.0.1: JSON and HTML pages, several
sources merged, yanked and Requires-Python data, and METADATA read without whole-wheel GETs."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from procvision_build.errors import IndexUnavailable, IntegrityError, NotInCache
from procvision_build.index.pages import parse_page
from tests.index.helpers import client_for, requested_bytes, sha256, zip_metadata
from tests.support.index_server import IndexOptions
from tests.support.wheels import WheelSpec, build_wheel


def _comparable(links):
    return sorted((link.filename, urlsplit(link.url).path, dict(link.hashes), link.requires_python,
                   link.yanked, None if link.metadata_hashes is None else dict(link.metadata_hashes))
                  for link in links)


def test_json_and_html_pages_give_the_same_links(serve, cache, wheels):
    options = dict(yanked={wheels.alpha1.name: "broken build"}, requires_python={wheels.alpha2.name: ">=3.10"})
    json_index = serve(IndexOptions(serve_json=True, **options))
    html_index = serve(IndexOptions(serve_json=False, **options))
    from_json = client_for(json_index.url, cache=cache).links("alpha")
    from_html = client_for(html_index.url, cache=cache).links("alpha")
    assert _comparable(from_json) == _comparable(from_html)
    assert {link.filename for link in from_json} == {wheels.alpha1.name, wheels.alpha2.name}
    # Only the JSON API carries sizes: proof that each page type really was parsed.
    assert all(link.size for link in from_json) and not any(link.size for link in from_html)
    for link in from_json:
        assert link.hashes == {"sha256": sha256(wheels.folder / link.filename)}
        assert link.url.startswith(json_index.url.replace("/simple/", "/files/"))


@pytest.mark.parametrize("serve_json", [True, False], ids=["json", "html"])
def test_yanked_and_requires_python_arrive_on_the_link(serve, cache, wheels, serve_json):
    index = serve(IndexOptions(serve_json=serve_json,
                               yanked={wheels.alpha1.name: "broken build", wheels.alpha2.name: ""},
                               requires_python={wheels.alpha2.name: ">=3.10,<3.12"}))
    links = {link.filename: link for link in client_for(index.url, cache=cache).links("alpha")}
    assert links[wheels.alpha1.name].yanked == "broken build"
    assert links[wheels.alpha2.name].yanked == ""  # yanked without a reason: not None
    assert links[wheels.alpha1.name].requires_python is None
    assert links[wheels.alpha2.name].requires_python == ">=3.10,<3.12"
    beta = client_for(index.url, cache=cache).links("beta")
    assert [link.yanked for link in beta] == [None]


def test_several_indexes_and_find_links_merge_or_the_first_wins(serve, cache, wheels, tmp_path):
    first_folder, second_folder, flat = tmp_path / "one", tmp_path / "two", tmp_path / "flat"
    first_folder.mkdir()
    shutil.copy(wheels.alpha1, first_folder)
    build_wheel(WheelSpec("alpha", "3.0"), second_folder)
    shutil.copy(wheels.alpha1, second_folder)  # the same file on both indexes: listed once
    build_wheel(WheelSpec("alpha", "4.0"), flat)
    build_wheel(WheelSpec("other", "1.0"), flat)
    (flat / "alpha-5.0.tar.gz").write_bytes(b"not really an sdist")
    (flat / "notes.txt").write_text("not a distribution")
    # A file:// index laid out as pip reads one: <root>/<project>/index.html.
    local_index = tmp_path / "local-simple"
    (local_index / "alpha").mkdir(parents=True)
    wheel6 = build_wheel(WheelSpec("alpha", "6.0"), tmp_path / "files")
    (local_index / "alpha" / "index.html").write_text(
        f'<html><body><a href="../../files/{wheel6.name}#sha256={sha256(wheel6)}" '
        f'data-requires-python="&gt;=3.9">{wheel6.name}</a></body></html>')

    one, two = serve(folder=first_folder), serve(folder=second_folder)
    client = client_for(one.url, two.url, local_index.as_uri(), cache=cache, find_links=(str(flat),),
                        strategy="unsafe-best-match")
    links = {link.filename: link for link in client.links("Alpha")}
    assert set(links) == {"alpha-1.0-py3-none-any.whl", "alpha-3.0-py3-none-any.whl", "alpha-4.0-py3-none-any.whl",
                          "alpha-5.0.tar.gz", "alpha-6.0-py3-none-any.whl"}
    assert links["alpha-1.0-py3-none-any.whl"].origin == two.url  # extra indexes are asked before the main one
    assert links["alpha-3.0-py3-none-any.whl"].origin == two.url
    found = links["alpha-4.0-py3-none-any.whl"]
    assert found.url == (flat / found.filename).as_uri() and found.origin == str(flat)
    assert found.hashes == {} and found.size == (flat / found.filename).stat().st_size
    local = links["alpha-6.0-py3-none-any.whl"]
    assert local.url == wheel6.as_uri() and local.hashes == {"sha256": sha256(wheel6)}
    assert local.requires_python == ">=3.9"
    # find-links given as a file:// URL behaves like the folder path
    as_url = client_for(cache=cache, find_links=(flat.as_uri(),)).links("alpha")
    assert {link.filename for link in as_url} == {"alpha-4.0-py3-none-any.whl", "alpha-5.0.tar.gz"}
    # a project on no index at all is simply empty
    assert client.links("absent") == []
    # first-index (the default): the first index that has the project is the only one asked for it (the extra
    # indexes come before the main one); find-links are added to it, as pip and uv add them
    first = client_for(one.url, two.url, local_index.as_uri(), cache=cache, find_links=(str(flat),))
    assert {link.filename for link in first.links("alpha")} == {"alpha-4.0-py3-none-any.whl", "alpha-5.0.tar.gz",
                                                                "alpha-1.0-py3-none-any.whl",
                                                                "alpha-3.0-py3-none-any.whl"}
    assert {link.index for link in first.links("alpha")} == {None, two.url}  # a flat index is not a simple one


def test_flat_find_links_page_with_http_links(serve, cache, wheels, tmp_path):
    index = serve()
    files = index.url.replace("/simple/", "/files/")
    page = tmp_path / "links.html"
    page.write_text(f'<a href="{files}{wheels.beta.name}#sha256={sha256(wheels.beta)}">b</a>'
                    f'<a href="{files}{wheels.alpha1.name}">a</a>')
    client = client_for(cache=cache, find_links=(str(page),))
    [beta] = client.links("beta")
    assert beta.hashes == {"sha256": sha256(wheels.beta)} and beta.filename == wheels.beta.name
    assert client.metadata(beta) == zip_metadata(wheels.beta)


def test_a_metadata_file_that_does_not_match_its_hash_is_refused_and_not_cached(serve, cache, wheels):
    from dataclasses import replace

    index = serve(IndexOptions(serve_metadata=True))
    client = client_for(index.url, cache=cache)
    link = next(link for link in client.links("alpha") if link.filename == wheels.alpha1.name)
    lying = replace(link, metadata_hashes={"sha256": "0" * 64})
    with pytest.raises(IntegrityError, match=f"{wheels.alpha1.name}.metadata from .* does not match"):
        client.metadata(lying)
    assert cache.metadata.get(link.sha256) is None
    assert client.metadata(link) == zip_metadata(wheels.alpha1)


@pytest.mark.parametrize("content_type, body", [
    ("application/vnd.pypi.simple.v1+json",
     b'{"files": [{"filename": "a-1.0-py3-none-any.whl", "url": "https://me:s3cret@files.invalid/a-1.0-py3-none-any.whl", '
     b'"hashes": {}}]}'),
    ("text/html", b'<a href="https://me:s3cret@files.invalid/a-1.0-py3-none-any.whl#sha256=00">a</a>'),
])
def test_credentials_in_a_listed_file_url_stay_out_of_the_link_but_are_sent_to_that_host(content_type, body):
    from procvision_build.index.credentials import CREDENTIALS

    [link] = parse_page(body, content_type, "https://index.invalid/simple/a/", origin="test")
    assert link.url == "https://files.invalid/a-1.0-py3-none-any.whl"  # what a lock file records
    assert CREDENTIALS.header(link.url) == "Basic bWU6czNjcmV0"  # me:s3cret


@pytest.mark.parametrize("content_type, body, expected", [
    ("application/vnd.pypi.simple.v1+json",  # PEP 658 as first published: only the old key
     b'{"files": [{"filename": "a-1.0-py3-none-any.whl", "url": "a-1.0-py3-none-any.whl", "hashes": {}, '
     b'"dist-info-metadata": {"sha256": "ab"}}]}', {"sha256": "ab"}),
    ("application/vnd.pypi.simple.v1+json",  # PEP 714: the new key wins over the old one
     b'{"files": [{"filename": "a-1.0-py3-none-any.whl", "url": "a-1.0-py3-none-any.whl", "hashes": {}, '
     b'"core-metadata": true, "dist-info-metadata": {"sha256": "ab"}}]}', {}),
    ("application/vnd.pypi.simple.v1+json",
     b'{"files": [{"filename": "a-1.0-py3-none-any.whl", "url": "a-1.0-py3-none-any.whl", "hashes": {}}]}', None),
    ("text/html", b'<a href="a-1.0-py3-none-any.whl" data-dist-info-metadata="sha256=ab">a</a>', {"sha256": "ab"}),
    ("text/html", b'<a href="a-1.0-py3-none-any.whl" data-core-metadata="true">a</a>', {}),
    ("text/html", b'<a href="a-1.0-py3-none-any.whl" data-core-metadata="false">a</a>', None),
])
def test_metadata_file_keys_old_and_new(content_type, body, expected):
    [link] = parse_page(body, content_type, "http://127.0.0.1:1/simple/a/", origin="test")
    assert link.metadata_hashes == expected


@pytest.mark.parametrize("body", [b'{"files": [{"url": "a-1.0-py3-none-any.whl"}]}', b'{"files": [7]}',
                                  b'{"files": {"a": 1}}', b'{"meta": {}}', b"not json"])
def test_a_malformed_json_page_is_a_clear_error_not_a_traceback(body):
    with pytest.raises(IndexUnavailable, match=r"http://127.0.0.1:1/simple/a/: the JSON index page is malformed"):
        parse_page(body, "application/vnd.pypi.simple.v1+json", "http://127.0.0.1:1/simple/a/", origin="test")


def test_redirect_to_the_normalized_name_is_followed(serve, cache, wheels):
    index = serve()
    client = client_for(index.url, cache=cache)
    response = client.http.get(index.url + "Mixed.Case_Name/", {"Accept": "text/html"})
    assert response.status == 200 and response.url == index.url + "mixed-case-name/"
    [link] = parse_page(response.body, response.headers["Content-Type"], response.url, origin=index.url)
    assert link.url == index.url.replace("/simple/", "/files/") + wheels.mixed.name
    assert [r.path for r in index.requests] == ["/simple/Mixed.Case_Name/", "/simple/mixed-case-name/"]
    # The client itself asks for the normalized name straight away.
    assert [link.filename for link in client.links("MIXED_case.name")] == [wheels.mixed.name]


def test_metadata_files_are_used_when_offered(serve, cache, wheels):
    index = serve(IndexOptions(serve_metadata=True))
    client = client_for(index.url, cache=cache)
    for name, wheel in (("alpha", wheels.alpha1), ("big", wheels.big)):
        link = next(link for link in client.links(name) if link.filename == wheel.name)
        assert link.metadata_hashes == {"sha256": sha256_bytes(zip_metadata(wheel))}
        assert client.metadata(link) == zip_metadata(wheel)
    assert index.wheel_downloads() == []
    assert not [r for r in index.requests if r.range]
    assert sum(r.path.endswith(".metadata") for r in index.requests) == 2


@pytest.mark.parametrize("wheel_name, requests", [("big", 1), ("front", 2), ("many", 2)])
def test_metadata_by_range_requests_without_metadata_files(serve, cache, wheels, wheel_name, requests):
    """big: all in the tail; front: METADATA far from the tail, fetched alone; many: the central
    directory outgrows the tail, and growing the tail backwards brings METADATA with it."""
    index = serve(IndexOptions(serve_metadata=False))
    wheel: Path = getattr(wheels, wheel_name)
    client = client_for(index.url, cache=cache)
    [link] = client.links(wheel_name)
    assert link.metadata_hashes is None
    assert client.metadata(link) == zip_metadata(wheel)
    assert index.wheel_downloads() == []
    ranges = [r.range for r in index.requests if r.path.endswith(".whl")]
    assert ranges and all(ranges)
    size = wheel.stat().st_size
    assert requested_bytes(index, wheel.name, size) < size / 3
    assert len(ranges) == requests
    assert cache.wheels.get(link.sha256) is None  # nothing was downloaded whole


def test_a_relative_find_links_folder_is_the_one_beside_the_working_directory_at_start(cache, wheels, tmp_path,
                                                                                      monkeypatch):
    shutil.copy(wheels.beta, tmp_path / wheels.beta.name)
    monkeypatch.chdir(tmp_path)
    client = client_for(cache=cache, find_links=(".",))
    monkeypatch.chdir(wheels.folder.parent)  # an in-process build of a local source moves the cwd
    assert [link.filename for link in client.links("beta")] == [wheels.beta.name]
    assert client.links("beta")[0].local_path() == tmp_path / wheels.beta.name


def test_a_damaged_wheel_in_a_find_links_folder_is_named_not_a_traceback(cache, tmp_path):
    folder = tmp_path / "wheels"
    folder.mkdir()
    (folder / "bad-1.0-py3-none-any.whl").write_bytes(b"not a zip at all")
    client = client_for(cache=cache, find_links=(str(folder),))
    [link] = client.links("bad")
    with pytest.raises(IndexUnavailable, match=r"bad-1\.0-py3-none-any\.whl: is not a readable wheel .*Replace or delete"):
        client.metadata(link)


def test_metadata_falls_back_to_the_whole_wheel_without_range_support(serve, cache, wheels):
    index = serve(IndexOptions(serve_metadata=False, serve_ranges=False))
    client = client_for(index.url, cache=cache)
    [link] = client.links("big")
    assert client.metadata(link) == zip_metadata(wheels.big)
    # One GET (its Range header ignored by the server) brought the whole wheel, kept in the store.
    assert len([r for r in index.requests if r.path.endswith(".whl")]) == 1
    stored = cache.wheels.get(link.sha256)
    assert stored is not None and stored.read_bytes() == wheels.big.read_bytes()


def test_metadata_and_pages_are_reused_from_the_cache(serve, cache, wheels):
    index = serve(IndexOptions(serve_metadata=False))
    [link] = client_for(index.url, cache=cache).links("big")
    metadata = client_for(index.url, cache=cache).metadata(link)
    index.clear_log()
    assert client_for(index.url, cache=cache).metadata(link) == metadata
    assert index.requests == []
    index.stop()
    offline = client_for(index.url, cache=cache, offline=True)
    assert offline.links("big") == [link]
    assert offline.metadata(link) == metadata
    with pytest.raises(NotInCache, match="alpha"):
        offline.links("alpha")


def test_cached_pages_are_revalidated_and_see_new_files(serve, cache, wheels, tmp_path):
    folder = tmp_path / "growing"
    shutil.copy(wheels.beta, folder.mkdir() or folder)
    index = serve(folder=folder)
    assert [link.filename for link in client_for(index.url, cache=cache).links("beta")] == [wheels.beta.name]
    assert [link.filename for link in client_for(index.url, cache=cache).links("beta")] == [wheels.beta.name]
    newer = build_wheel(WheelSpec("beta", "2.0"), folder)
    names = {link.filename for link in client_for(index.url, cache=cache).links("beta")}
    assert names == {wheels.beta.name, newer.name}
    assert sum(r.path == "/simple/beta/" for r in index.requests) == 3


def test_local_wheel_metadata_is_read_from_the_file(cache, wheels, tmp_path):
    client = client_for(cache=cache, find_links=(str(wheels.folder),))
    [link] = client.links("big")
    assert link.is_local and client.metadata(link) == zip_metadata(wheels.big)


def sha256_bytes(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()

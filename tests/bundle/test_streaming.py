"""Any zip reader reads a bundle: every local header holds the entry's CRC-32 and sizes (no data descriptors),
so a streaming reader extracts it front to back from a pipe, as a central-directory reader does from the file."""

from __future__ import annotations

import io
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path

import pytest
from stream_unzip import stream_unzip

from procvision_build.artifacts import archive
from procvision_build.artifacts.archive import StreamingZipWriter
from tests.bundle.conftest import Built

KEYS = ("cp310-win_amd64", "cp310-manylinux_2_17_x86_64")


def local_headers(data: bytes) -> list[tuple[str, int, int, int, int]]:
    """(name, flags, crc32, compressed size, size) of each local header, walked front to back as a stream would."""
    found, offset = [], 0
    while data[offset:offset + 4] == b"PK\x03\x04":
        _, _, _, flags, _, _, _, crc, compressed, size, name_length, extra_length = struct.unpack(
            "<4s2B4HL2L2H", data[offset:offset + 30])
        name = data[offset + 30:offset + 30 + name_length].decode()
        extra = data[offset + 30 + name_length:offset + 30 + name_length + extra_length]
        if compressed == 0xFFFFFFFF:  # zip64: the sizes are in the extra field
            size, compressed = struct.unpack("<QQ", extra[4:20])
        found.append((name, flags, crc, compressed, size))
        offset += 30 + name_length + extra_length + compressed
    assert data[offset:offset + 4] == b"PK\x01\x02", "the central directory follows the last entry"
    return found


def streamed(chunks) -> dict[str, bytes]:
    return {name.decode(): b"".join(body) for name, _, body in stream_unzip(chunks)}


def central(path_or_bytes) -> dict[str, bytes]:
    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    with zipfile.ZipFile(source) as opened:
        assert opened.testzip() is None
        return {info.filename: opened.read(info) for info in opened.infolist()}


@pytest.mark.parametrize("key", KEYS)
def test_local_headers_hold_crc_and_sizes(example_bundles: Built, key: str) -> None:
    data = example_bundles.bundles[key].read_bytes()
    headers = local_headers(data)
    with zipfile.ZipFile(io.BytesIO(data)) as opened:
        infos = {info.filename: info for info in opened.infolist()}
    assert [name for name, *_ in headers] == list(infos)
    for name, flags, crc, compressed, size in headers:
        assert not flags & 0x08, f"{name}: data descriptor (flag bit 3)"
        assert (crc, compressed, size) == (infos[name].CRC, infos[name].compress_size, infos[name].file_size), name


@pytest.mark.slow
@pytest.mark.parametrize("key", KEYS)
def test_a_streaming_reader_extracts_the_bundle_from_a_pipe(example_bundles: Built, key: str) -> None:
    """Read through `cat BUNDLE |`: no seeking, no central directory; the same bytes as zipfile reads."""
    bundle = example_bundles.bundles[key]
    with subprocess.Popen(["cat", str(bundle)], stdout=subprocess.PIPE) as pipe:
        assert pipe.stdout is not None
        from_pipe = streamed(iter(lambda: pipe.stdout.read(1 << 16), b""))
    assert pipe.returncode == 0
    assert from_pipe == central(bundle)


def test_zip64_entries_and_offsets_are_read_by_every_reader(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Past the zip64 limit (lowered here, so the test stays small): sizes and offsets move to zip64 fields,
    still in the local headers, and both kinds of reader agree."""
    monkeypatch.setattr(archive, "_CLASSIC_LIMIT", 1000)
    wheel = tmp_path / "big-1.0-py3-none-any.whl"
    wheel.write_bytes(bytes(range(256)) * 20)
    stream = io.BytesIO()
    writer = StreamingZipWriter(stream, 1700000000)
    writer.add_stored_file("a/big-1.0-py3-none-any.whl", wheel)
    writer.add_bytes("a/text.txt", b"some text " * 300)
    writer.add_stored_file("a/z.whl", wheel, zlib.crc32(wheel.read_bytes()))
    writer.add_bytes("a/ünïcode.json", b"{}")
    writer.close()
    data = stream.getvalue()
    assert all(not flags & 0x08 for _, flags, *_ in local_headers(data))
    expected = {"a/big-1.0-py3-none-any.whl": wheel.read_bytes(), "a/text.txt": b"some text " * 300,
                "a/z.whl": wheel.read_bytes(), "a/ünïcode.json": b"{}"}
    assert central(data) == expected
    assert streamed([data[i:i + 97] for i in range(0, len(data), 97)]) == expected


def test_the_same_entries_give_the_same_bytes(tmp_path: Path) -> None:
    def write() -> bytes:
        stream = io.BytesIO()
        writer = StreamingZipWriter(stream, 1700000000)
        writer.add_bytes("b.txt", b"b" * 100)
        writer.close()
        return stream.getvalue()

    assert write() == write()
    with zipfile.ZipFile(io.BytesIO(write())) as opened:
        info = opened.getinfo("b.txt")
        assert info.date_time == (2023, 11, 14, 22, 13, 20) and info.external_attr >> 16 == 0o100644


def test_a_wheels_crc_is_kept_by_its_sha256_for_the_next_build(tmp_path: Path) -> None:
    from procvision_build.bundle.contents import Member
    from procvision_build.bundle.writer import write_bundle
    from procvision_build.files import sha256_of
    from procvision_build.store.cache import Cache

    wheel = tmp_path / "w-1.0-py3-none-any.whl"
    wheel.write_bytes(b"not really a wheel" * 100)
    sha256, store = sha256_of(wheel), Cache(tmp_path / "cache").crc32
    members = [Member("a/wheels/" + wheel.name, wheel, sha256), Member("a/manifest.json", b"{}")]
    first = write_bundle(tmp_path / "one.zip", members, 1700000000, store)
    assert store.get(sha256) == zlib.crc32(wheel.read_bytes())
    assert write_bundle(tmp_path / "two.zip", members, 1700000000, store) == first
    assert central((tmp_path / "two.zip").read_bytes())["a/wheels/" + wheel.name] == wheel.read_bytes()

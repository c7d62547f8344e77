"""Every failure of an install leaves the root byte for byte as it was, and names what went wrong."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Callable

import pytest

from procvision_build.deploy.bundle import Bundle
from procvision_build.deploy.bundle_extract import required_bytes
from procvision_build.deploy.errors import DeployError
from tests.deploy.helpers import adapter_processes, error_record, run_tool, snapshot, start_install, wait_for

pytestmark = pytest.mark.slow

VERSION_DIR = "algorithm_example-1.0.0"


@pytest.fixture
def used_root(tmp_path: Path) -> Path:
    """A root that already holds something of its own (a note, a binding dir, an old lock file)."""
    root = tmp_path / "root"
    (root / "active").mkdir(parents=True)
    (root / "notes.txt").write_text("line 3 of hall B\n")
    (root / ".procvision.lock").write_bytes(b"")
    return root


def install_json(python: Path, bundle: Path, root: Path, *extra: str) -> dict:
    """Run a failing ``install --json``; return its error record after checking the one-line contract."""
    done = run_tool(python, bundle, "install", "--root", str(root), "--json", *extra)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == ""
    return error_record(done)  # every stderr line is a JSON record: no traceback of ours


def _replace(entries: list, test: Callable[[str], bool], data: bytes | None) -> list:
    """Entries with the first member whose name passes ``test`` replaced by ``data`` (removed when None)."""
    index = next(i for i, (name, _) in enumerate(entries) if test(name))
    changed = list(entries)
    if data is None:
        del changed[index]
    else:
        changed[index] = (changed[index][0], data)
    return changed


def test_a_wheel_that_differs_from_its_pin_is_refused_before_anything_is_written(
        tmp_path: Path, used_root: Path, bundle_for, python_for) -> None:
    built = bundle_for("3.10")
    numpy = next(data for name, data in built.entries if "/wheels/numpy-" in name)
    tampered = numpy[:1000] + bytes([numpy[1000] ^ 0xFF]) + numpy[1001:]
    bundle = built.write_variant(tmp_path / built.path.name,
                                 _replace(built.entries, lambda n: "/wheels/numpy-" in n, tampered))
    before = snapshot(used_root)
    error = install_json(python_for("3.10"), bundle, used_root)
    assert error["code"] == "2008" and "wheels/numpy-" in error["message"] and "pins" in error["message"]
    assert snapshot(used_root) == before


def test_a_flipped_byte_in_the_bundle_file_is_an_integrity_error(tmp_path: Path, used_root: Path, bundle_for,
                                                                 python_for) -> None:
    bundle = tmp_path / bundle_for("3.10").path.name
    data = bytearray(bundle_for("3.10").path.read_bytes())
    with zipfile.ZipFile(bundle_for("3.10").path) as archive:
        info = next(i for i in archive.infolist() if "/wheels/pillow-" in i.filename)
    name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + name_length + extra_length
    data[start + info.compress_size // 2] ^= 0x01  # a stored member: its bytes are the wheel's bytes
    bundle.write_bytes(bytes(data))
    before = snapshot(used_root)
    error = install_json(python_for("3.10"), bundle, used_root)
    assert error["code"] == "2008" and "wheels/pillow-" in error["message"] and "CRC" in error["message"]
    assert snapshot(used_root) == before


@pytest.mark.parametrize("member", ["../evil", "{abs}/evil", "algorithm_example-1.0.0/assets/..\\..\\evil",
                                    "algorithm_example-1.0.0/C:evil"])
def test_unsafe_member_names_are_refused_and_nothing_is_written_anywhere(
        tmp_path: Path, used_root: Path, bundle_for, python_for, member: str) -> None:
    built = bundle_for("3.10")
    name = member.format(abs=tmp_path.as_posix())
    (tmp_path / "bundles").mkdir()
    bundle = built.write_variant(tmp_path / "bundles" / built.path.name, [*built.entries, (name, b"evil\n")])
    with zipfile.ZipFile(bundle) as archive:
        assert name in archive.namelist()  # the zip really carries the unsafe name
    before = snapshot(used_root)
    error = install_json(python_for("3.10"), bundle, used_root)
    assert error["code"] == "2001" and repr(name) in error["message"]
    assert snapshot(used_root) == before
    assert not list(tmp_path.rglob("evil")) and not (tmp_path.parent / "evil").exists()


def test_a_symbolic_link_member_is_refused(tmp_path: Path, used_root: Path, bundle_for, python_for) -> None:
    built = bundle_for("3.10")
    bundle = built.write_variant(tmp_path / built.path.name)
    with zipfile.ZipFile(bundle, "a") as archive:
        link = zipfile.ZipInfo(f"{VERSION_DIR}/assets/secrets")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/shadow")
    error = install_json(python_for("3.10"), bundle, used_root)
    assert error["code"] == "2001" and "symbolic link" in error["message"]


@pytest.mark.parametrize("change, code, words", [
    ("no manifest", "2002", "has no {name}-{version}/manifest.json"),
    ("wheel absent", "2004", "pins pillow=="),
    ("wheel unlisted", "2001", "is not pinned in requirements.txt"),
    ("asset absent", "2001", "lacks algorithm_example-1.0.0/assets/default/model.json"),
    ("duplicate", "2001", "appears twice"),
    ("not a zip", "2001", "is not a readable zip"),
])
def test_incomplete_bundles_are_refused(tmp_path: Path, used_root: Path, bundle_for, python_for,
                                        change: str, code: str, words: str) -> None:
    built = bundle_for("3.10")
    entries = built.entries
    if change == "no manifest":
        entries = _replace(entries, lambda n: n.endswith("/manifest.json"), None)
    elif change == "wheel absent":
        entries = _replace(entries, lambda n: "/wheels/pillow-" in n, None)
    elif change == "wheel unlisted":
        entries = [*entries, (f"{VERSION_DIR}/wheels/extra-1.0-py3-none-any.whl", b"PK")]
    elif change == "asset absent":
        entries = _replace(entries, lambda n: n.endswith("default/model.json"), None)
    elif change == "duplicate":
        entries = [*entries, (f"{VERSION_DIR}/ASSETS/p001/config.json", b"{}")]
    bundle = built.write_variant(tmp_path / built.path.name, entries)
    if change == "not a zip":  # Python itself cannot run it; a tool that opens it gets 2001
        bundle.write_bytes(b"this is not a zip file")
        with pytest.raises(DeployError, match=words) as raised:
            Bundle.open(bundle)
        assert str(raised.value.code) == code
        return
    before = snapshot(used_root)
    error = install_json(python_for("3.10"), bundle, used_root)
    assert error["code"] == code and words in error["message"], error
    assert snapshot(used_root) == before


def test_the_wrong_python_is_refused_first_naming_what_the_bundle_needs(used_root: Path, bundle_for,
                                                                        python_for) -> None:
    before = snapshot(used_root)
    error = install_json(python_for("3.10"), bundle_for("3.12").path, used_root)
    assert error["code"] == "2003"
    message = error["message"]
    assert "needs CPython 3.12 (cp312) on manylinux_2_17_x86_64" in message
    assert "this is CPython 3.10." in message and "the Python version is 3.10, not 3.12" in message
    assert "<python3.12>" in message
    assert snapshot(used_root) == before


def test_an_algorithm_that_cannot_start_fails_the_install_with_its_stderr(tmp_path: Path, bundle_for,
                                                                          python_for) -> None:
    root = tmp_path / "new-root"  # does not exist before: must not exist after
    checked = install_json(python_for("3.10"), bundle_for("3.10", broken=True).path, root)
    assert checked["code"] == "2005" and checked["message"].startswith(
        "import check: 1 module(s) cannot be imported: algorithm_example (algorithm_example 1.0.0); nothing was "
        "installed; hint: the system library libprocvision_missing.so.1 is missing on this machine")
    assert checked["detail"] == ["algorithm_example (algorithm_example 1.0.0): OSError: libprocvision_missing.so.1: "
                                 "cannot open shared object file: No such file or directory; hint: the system "
                                 "library libprocvision_missing.so.1 is missing on this machine: install the package "
                                 "that provides it (find its package with `apt-file search "
                                 "libprocvision_missing.so.1` or `dnf provides '*/libprocvision_missing.so.1'`), "
                                 "then install again"]
    assert not root.exists()
    # without the import check the handshake finds it, with the adapter's stderr
    error = install_json(python_for("3.10"), bundle_for("3.10", broken=True).path, root, "--no-import-check")
    assert error["code"] == "2005"
    message = error["message"]
    assert message.startswith("the installed algorithm did not start: stage import: cannot import "
                              "'algorithm_example.main'")
    assert "OSError: libprocvision_missing.so.1: cannot open shared object file" in message
    assert "the system library libprocvision_missing.so.1 is missing on this machine" in message
    assert error["detail"][0] == "last stderr lines of the adapter:"
    assert any("error procvision.adapter: the algorithm failed to start" in line for line in error["detail"])
    assert error["detail"][-2].endswith("algorithm_example/main.py\", line 78, in <module>")
    assert error["detail"][-1] == 'ctypes.CDLL("libprocvision_missing.so.1")'
    assert not root.exists()
    assert not adapter_processes(str(root))


def test_an_install_killed_while_extracting_writing_wheels_or_compiling_leaves_nothing_installed(
        tmp_path: Path, bundle_for, python_for) -> None:
    python, bundle = python_for("3.10"), bundle_for("3.10").path
    root = tmp_path / "root"
    temporary = root / f"{VERSION_DIR}.tmp"

    # --keep-wheels: extraction then copies 24 MiB of wheels too, a window a loaded machine cannot miss (without
    # them it writes a few small files in a few milliseconds)
    process = start_install(python, bundle, root, "--keep-wheels")
    wait_for(temporary.exists, process, "extraction")
    process.kill()
    process.wait()
    assert not (temporary / "venv").exists(), "killed too late: the venv was being made"
    assert not (root / VERSION_DIR).exists()

    numpy = temporary / "venv" / "lib" / "python3.10" / "site-packages" / "numpy"
    stages = [(numpy.exists, "the installer writing numpy"),
              (lambda: (numpy / "__pycache__").exists() and bool(adapter_processes(str(temporary))),
               "bytecode being compiled (children of the installer)")]
    for reached, what in stages:
        process = start_install(python, bundle, root)
        wait_for(reached, process, what)
        process.kill()
        process.wait()
        deadline = time.monotonic() + 10
        while adapter_processes(str(temporary)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not adapter_processes(str(temporary)), f"a child outlived the installer killed at {what}"
        assert not (root / VERSION_DIR).exists()
        listed = run_tool(python, bundle, "list", "--root", str(root), "--json")
        assert json.loads(listed.stdout)["versions"] == []

    done = run_tool(python, bundle, "install", "--root", str(root))
    assert done.returncode == 0, done.stderr
    assert f"removing {temporary}, left by an install that was stopped" in done.stderr
    assert sorted(p.name for p in root.iterdir()) == [".procvision.lock", VERSION_DIR, "procvision-deploy.pyz"]
    assert run_tool(python, root / "procvision-deploy.pyz", "verify").returncode == 0


def test_ctrl_c_while_wheels_are_written_removes_the_partial_install(used_root: Path, bundle_for, python_for) -> None:
    before = snapshot(used_root)
    process = start_install(python_for("3.10"), bundle_for("3.10").path, used_root)
    numpy = used_root / f"{VERSION_DIR}.tmp" / "venv" / "lib" / "python3.10" / "site-packages" / "numpy"
    wait_for(numpy.exists, process, "the installer writing numpy")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert stderr.splitlines()[-1].startswith("error: interrupted") and "Traceback" not in stderr
    assert snapshot(used_root) == before


@pytest.fixture
def small_disk(tmp_path: Path):
    """``make(bytes)``: a fresh tmpfs of that size (root only); skipped where mounting is not allowed."""
    mounts: list[Path] = []

    def make(size: int) -> Path:
        point = tmp_path / f"disk{len(mounts)}"
        point.mkdir()
        if not sys.platform.startswith("linux") or os.geteuid() != 0:
            pytest.skip("a full-disk test needs a small tmpfs, which only root can mount")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounts.append(point)
        return point

    yield make
    for point in mounts:
        if subprocess.run(["umount", str(point)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(point)], capture_output=True)


def _filled_root(disk: Path) -> Path:
    root = disk / "root"
    root.mkdir()
    (root / "notes.txt").write_text("kept\n")
    return root


def test_too_little_free_space_is_refused_before_writing(small_disk, bundle_for, python_for) -> None:
    root = _filled_root(small_disk(16 << 20))
    before = snapshot(root)
    error = install_json(python_for("3.10"), bundle_for("3.10").path, root)
    assert error["code"] == "2005" and "not enough free space" in error["message"]
    assert snapshot(root) == before


def test_a_disk_that_fills_up_during_the_install_leaves_the_root_as_it_was(small_disk, bundle_for,
                                                                           python_for) -> None:
    bundle = bundle_for("3.10").path
    with Bundle.open(bundle) as opened:
        needed = required_bytes(opened, opened.wheels())
    root = _filled_root(small_disk(needed + (2 << 20)))  # passes the estimate, not the real install
    before = snapshot(root)
    error = install_json(python_for("3.10"), bundle, root)
    assert error["code"] == "2005"
    assert "no space left" in (error["message"] + " ".join(error.get("detail", []))).lower(), error
    assert snapshot(root) == before


def test_a_bundle_for_another_platform_says_where_it_installs(tmp_path: Path, used_root: Path, bundle_for,
                                                              python_for) -> None:
    built = bundle_for("3.10")
    manifest_name = next(name for name, _ in built.entries if name.endswith("/manifest.json"))
    manifest = json.loads(dict(built.entries)[manifest_name])
    manifest["target"]["platform"] = "win_amd64"
    bundle = built.write_variant(tmp_path / built.path.name.replace("manylinux_2_17_x86_64", "win_amd64"), [
        (name, json.dumps(manifest).encode() if name == manifest_name else data) for name, data in built.entries])
    error = install_json(python_for("3.10"), bundle, used_root)
    assert error["code"] == "2003"
    assert "the platform win_amd64 does not fit: it needs win-amd64 Windows, this is linux-x86_64" in error["message"]
    assert "Install it on a win_amd64 machine, or ask for a bundle built for this one (linux-x86_64" in \
        error["message"]

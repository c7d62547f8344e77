"""A corpus of hostile roots: what someone (or something) planted in a deployment root, and what each command
answers. Each case is one line: what is planted, the command, the documented code and words, and whether the
root (and what lies outside it) stays byte for byte as it was. Add a case by adding a line to CASES."""

from __future__ import annotations

import json
import marshal
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from tests.deploy.conftest import TOOL
from tests.deploy.helpers import run_tool, snapshot

pytestmark = pytest.mark.slow

NAME = "algorithm-example"
VERSION = "algorithm_example-1.0.0"
SITE = f"{VERSION}/venv/lib/python3.10/site-packages"
MAIN_PYC = f"{SITE}/algorithm_example/__pycache__/main.cpython-310.pyc"
PRECIOUS = b"precious bytes that no command may touch\n"


@pytest.fixture(scope="session")
def pristine_root(tmp_path_factory: pytest.TempPathFactory, bundle_for, python_for) -> Path:
    """A root with algorithm-example 1.0.0 installed; cases work on hard-linked copies of it."""
    root = tmp_path_factory.mktemp("pristine") / "root"
    done = run_tool(python_for("3.10"), bundle_for("3.10").path, "install", "--root", str(root), "-q")
    assert done.returncode == 0, done.stderr
    return root


def copy_root(source: Path, target: Path) -> Path:
    """A copy sharing file contents (cases replace files, never write into them); the lock is a real copy."""
    shutil.copytree(source, target, symlinks=True, copy_function=os.link)
    lock = target / ".procvision.lock"
    lock.unlink()
    shutil.copyfile(source / ".procvision.lock", lock)
    return target


def replace(path: Path, data: bytes) -> None:
    """New bytes under ``path`` as a new file (hard-linked copies keep the old ones)."""
    path.unlink()
    path.write_bytes(data)


def fifo(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()
    os.mkfifo(path)


def link(path: Path, target: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()
    path.symlink_to(target)


def directory(path: Path) -> None:
    if os.path.lexists(path):
        path.unlink()
    (path / "inside").mkdir(parents=True)


def tampered_bytecode(path: Path) -> None:
    """The same 16-byte header (magic, flags, source mtime and size), another code object."""
    header = path.read_bytes()[:16]
    replace(path, header + marshal.dumps(compile("raise SystemExit('tampered')\n", "main.py", "exec")))


def moved_out(root: Path, outside: Path) -> None:
    """The version directory moved out of the root, a link left in its place."""
    shutil.move(str(root / VERSION), str(outside / VERSION))
    (root / VERSION).symlink_to(outside / VERSION)


def linked_copy_out(root: Path, outside: Path) -> None:
    """An extra "version" that lives outside the root, linked in under a version's name."""
    shutil.copytree(root / VERSION, outside / "planted", symlinks=True, copy_function=os.link)
    (root / "algorithm_example-2.0.0").symlink_to(outside / "planted")


def binding_with_a_number(root: Path, outside: Path) -> None:
    """A binding whose ``directory`` is a number (a hand edit, another tool)."""
    (root / "active").mkdir()
    (root / "active" / "p001.json").write_text(
        '{"binding_version": 1, "pid": "p001", "name": "algorithm-example", "version": "1.0.0", "directory": 5, '
        '"python": "x", "command": ["x"], "previous": null}\n')


RECORD = f"{VERSION}/.procvision/installed.json"
DAMAGED_RECORD = f"the install record {{root}}/{RECORD} is damaged"


def damaged_record(change: Callable[[bytes], bytes]) -> Callable[[Path, Path], None]:
    """A plant that rewrites the version's install record with ``change`` (a hand edit, a disk fault)."""
    return lambda root, outside: replace(root / RECORD, change((root / RECORD).read_bytes()))


def with_record(change: Callable[[dict], None]) -> Callable[[bytes], bytes]:
    """``change`` applied to the record's JSON."""
    def rewrite(data: bytes) -> bytes:
        record = json.loads(data)
        change(record)
        return json.dumps(record).encode()
    return rewrite


def first_entry(record: dict, value: object) -> None:
    record["files"][next(iter(record["files"]))] = value


def hard_linked_lock(root: Path, outside: Path) -> None:
    (root / ".procvision.lock").unlink()
    os.link(outside / "victim", root / ".procvision.lock")


@dataclass(frozen=True)
class Case:
    name: str
    plant: Callable[[Path, Path], None]  # (root, outside): ``outside/victim`` holds PRECIOUS
    command: tuple[str, ...]
    code: str
    words: str
    unchanged: bool = True  # the root and ``outside`` are byte for byte as planted afterwards
    shown: str = ""  # words the result on stdout names (verify)
    status: int = 1  # the exit status (2: a usage error, without a code)
    gone: str = ""  # a path under the root that the command removed (when not unchanged)


ACTIVATE = ("activate", NAME, "1.0.0", "--pid", "p001")
CASES = [
    Case("lock is a link out of the root", lambda r, o: link(r / ".procvision.lock", o / "victim"),
         ACTIVATE, "2008", "the root lock {root}/.procvision.lock is a symbolic link, not a regular file"),
    Case("lock is a dangling link", lambda r, o: link(r / ".procvision.lock", o / "made-by-us"),
         ("gc",), "2008", "is a symbolic link, not a regular file"),
    Case("lock is a hard link to another file", hard_linked_lock, ("rollback", "--pid", "p001"), "2008",
         "the root lock {root}/.procvision.lock has 2 names (a hard link), not one"),
    Case("lock is a directory", lambda r, o: directory(r / ".procvision.lock"), ACTIVATE, "2008",
         "the root lock {root}/.procvision.lock is a directory, not a regular file"),
    Case("lock is a FIFO", lambda r, o: fifo(r / ".procvision.lock"), ("uninstall", NAME, "1.0.0"), "2008",
         "the root lock {root}/.procvision.lock is a FIFO, not a regular file"),
    Case("active/ is a link out of the root", lambda r, o: link(r / "active", o), ACTIVATE, "2008",
         "{root}/active is a symbolic link (to {outside}), not the bindings directory"),
    Case("active/ is a file", lambda r, o: (r / "active").write_text("x"), ("list",), "2008",
         "{root}/active is a regular file, not the bindings directory"),
    Case("a binding is a directory", lambda r, o: directory(r / "active" / "p001.json"), ACTIVATE, "2008",
         "the binding {root}/active/p001.json is a directory, not a regular file"),
    Case("a binding is a FIFO", lambda r, o: ((r / "active").mkdir(), fifo(r / "active" / "p001.json")),
         ("list",), "2008", "the binding {root}/active/p001.json is a FIFO, not a regular file"),
    Case("a binding is a link out of the root", lambda r, o: ((r / "active").mkdir(),
                                                              link(r / "active" / "p001.json", o / "victim")),
         ACTIVATE, "2008", "the binding {root}/active/p001.json is a symbolic link, not a regular file"),
    Case("the version directory is a link out of the root", moved_out, ACTIVATE, "2008",
         f"{{root}}/{VERSION} is a symbolic link (to {{outside}}/{VERSION}), not a version directory"),
    Case("a version linked in from outside", linked_copy_out, ("list",), "2008",
         "{root}/algorithm_example-2.0.0 is a symbolic link (to {outside}/planted), not a version directory"),
    Case("a version's manifest is a FIFO", lambda r, o: fifo(r / VERSION / "manifest.json"), ("list",), "2008",
         f"{{root}}/{VERSION}/manifest.json is a FIFO, not a regular file: {{root}}/{VERSION} is damaged"),
    Case("a version's record is a directory", lambda r, o: directory(r / VERSION / ".procvision/installed.json"),
         ("verify",), "2008", f"{{root}}/{VERSION}/.procvision/installed.json is a directory"),
    Case("a truncated record", damaged_record(lambda data: data[:len(data) // 2]), ("verify",), "2008",
         DAMAGED_RECORD + " (not UTF-8 JSON: "),
    Case("a flipped byte in the record", damaged_record(lambda data: data[:40] + b"\xff" + data[41:]),
         ("verify",), "2008", DAMAGED_RECORD + " (not UTF-8 JSON: 'utf-8' codec can't decode byte 0xff"),
    Case("a record that is a JSON list", damaged_record(lambda data: b"[1, 2]\n"), ("info", NAME, "1.0.0"), "2008",
         DAMAGED_RECORD + " (a JSON list, not an object)"),
    Case("a record entry of the wrong type", damaged_record(with_record(lambda r: first_entry(r, 5))), ("verify",),
         "2008", DAMAGED_RECORD + " (the entry of "),
    Case("a record entry whose size is text", damaged_record(with_record(
        lambda r: first_entry(r, {"size": "x", "sha256": "00"}))), ("verify",), "2008", DAMAGED_RECORD),
    Case("a record version that is text", damaged_record(with_record(lambda r: r.update(record_version="two"))),
         ("verify",), "2008", DAMAGED_RECORD + " (record_version is not a number)"),
    Case("a FIFO added to a version", lambda r, o: os.mkfifo(r / VERSION / "assets" / "pipe"), ("verify",),
         "2008", "differ from what was installed", shown="added: assets/pipe (a FIFO)"),
    Case("requirements.txt is a FIFO", lambda r, o: fifo(r / VERSION / "requirements.txt"), ("verify",),
         "2008", "differ from what was installed", shown="changed: requirements.txt"),
    Case("a RECORD is a FIFO", lambda r, o: fifo(r / SITE / "numpy-2.2.6.dist-info" / "RECORD"),
         ("verify",), "2008", "differ from what was installed", shown="is a FIFO, not a regular file"),
    Case("pyvenv.cfg is a FIFO", lambda r, o: fifo(r / VERSION / "venv" / "pyvenv.cfg"), ("verify",), "2008",
         "differ from what was installed", shown="pyvenv.cfg is unreadable"),
    Case("a code object replaced in a .pyc", lambda r, o: tampered_bytecode(r / MAIN_PYC), ("verify",), "2008",
         "differ from what was installed", shown=f"changed: {MAIN_PYC.split('/', 1)[1]}"),
    Case("a sourceless .pyc planted", lambda r, o: (r / SITE / "sitecustomize.pyc").write_bytes(b"\0" * 32),
         ("verify",), "2008", "differ from what was installed",
         shown=f"added: {SITE.split('/', 1)[1]}/sitecustomize.pyc"),
    Case("a binding with a number for a path", binding_with_a_number, ("list",), "2006",
         "the binding {root}/active/p001.json is unreadable (directory is 5, expected a string)"),
    Case("the root is a file", lambda r, o: None, ("install", "--root", "{root}/notes.txt"), "", status=2,
         words="the root {root}/notes.txt is a regular file, not a directory"),
    Case("an install's leftover is a FIFO", lambda r, o: os.mkfifo(r / f"{VERSION}.tmp"),
         ("install", "--root", "{root}"), "", "algorithm-example 1.0.0 is already installed", unchanged=False,
         gone=f"{VERSION}.tmp"),
    Case("the venv's interpreter link points elsewhere",
         lambda r, o: link(r / VERSION / "venv" / "bin" / "python", Path("/bin/sh")), ("verify",), "2008",
         "differ from what was installed", shown="changed: venv/bin/python"),
    Case("a version's record folder is a link", lambda r, o: (
        shutil.move(str(r / VERSION / ".procvision"), str(o / "records")),
        (r / VERSION / ".procvision").symlink_to(o / "records")), ("verify",), "2008",
         "differ from what was installed", shown="added: .procvision"),
    Case("the root tool is a directory", lambda r, o: directory(r / TOOL), ("install", "--root", "{root}"), "2008",
         f"the root tool {{root}}/{TOOL} is a directory, not a regular file"),
    Case("the root tool is a FIFO", lambda r, o: fifo(r / TOOL), ("install", "--root", "{root}"), "2008",
         f"the root tool {{root}}/{TOOL} is a FIFO, not a regular file"),
    Case("the root tool is a link out of the root", lambda r, o: link(r / TOOL, o / "victim"),
         ("install", "--root", "{root}"), "2008", f"the root tool {{root}}/{TOOL} is a symbolic link"),
]


def _run(python: Path, bundle: Path, root: Path, outside: Path, command: tuple[str, ...]):
    args = [part.format(root=root, outside=outside) for part in command]
    if "--root" not in args:
        args += ["--root", str(root)]
    return run_tool(python, bundle, *args, timeout=120)  # a FIFO that is opened blocks: the timeout fails it


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_hostile_root_gets_one_line_and_its_code(tmp_path: Path, pristine_root: Path, bundle_for, python_for,
                                                   case: Case) -> None:
    root = copy_root(pristine_root, tmp_path / "root")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_bytes(PRECIOUS)
    case.plant(root, outside)
    (root / "notes.txt").write_text("the root's own note\n")
    before, around = snapshot(root), snapshot(outside)
    done = _run(python_for("3.10"), bundle_for("3.10").path, root, outside, case.command)
    assert done.returncode == case.status, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.splitlines()[-1]
    assert last.startswith(f"error [{case.code}]: " if case.code else "error: "), done.stderr
    assert case.words.format(root=root, outside=outside) in last, last
    assert case.shown in done.stdout, done.stdout
    if case.unchanged:
        assert snapshot(root) == before
        assert snapshot(outside) == around
    if case.gone:
        assert not os.path.lexists(root / case.gone)
    assert (outside / "victim").read_bytes() == PRECIOUS
    assert not (outside / "made-by-us").exists()


def test_leftover_links_are_removed_without_touching_what_they_point_to(tmp_path: Path, pristine_root: Path,
                                                                        python_for) -> None:
    root = copy_root(pristine_root, tmp_path / "root")
    outside = tmp_path / "outside"
    (outside / "kept").mkdir(parents=True)
    (outside / "kept" / "file").write_bytes(PRECIOUS)
    (root / f"{VERSION.replace('1.0.0', '3.0.0')}.tmp").symlink_to(outside / "kept")
    (root / f".{VERSION.replace('1.0.0', '0.9')}.removing").symlink_to(outside / "kept")
    done = run_tool(python_for("3.10"), root / TOOL, "gc")
    assert done.returncode == 0, done.stderr
    assert (outside / "kept" / "file").read_bytes() == PRECIOUS
    assert sorted(p.name for p in root.iterdir()) == [".procvision.lock", VERSION, TOOL]


def test_a_missing_root_tool_is_put_back_by_the_next_install(tmp_path: Path, pristine_root: Path, bundle_for,
                                                             python_for) -> None:
    """What deploy tool 1.0.0 left after a kill just after the rename: the version, no tool."""
    root = copy_root(pristine_root, tmp_path / "root")
    (root / TOOL).unlink()
    done = run_tool(python_for("3.10"), bundle_for("3.10").path, "install", "--root", str(root))
    assert done.returncode == 1 and "is already installed" in done.stderr.splitlines()[-1]
    assert f"restored {root / TOOL}: it was missing beside installed versions" in done.stderr
    assert run_tool(python_for("3.10"), root / TOOL, "verify").returncode == 0

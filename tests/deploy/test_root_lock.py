"""The root lock's rule for new roots, step by step: an install that failed removes the directories it made
while they hold nothing another install left, whoever created the lock file; a waiter that remade a vanished
root never removes a version another install put there; and the lock file goes with the one who created it,
even when another took the lock first."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from procvision_build.deploy import locking
from procvision_build.deploy.bundle_files import ROOT_LOCK

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the POSIX order of hiding and unlocking")


def test_a_waiter_that_remade_the_root_keeps_what_another_install_left(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "hall" / "root"
    lock = root / ROOT_LOCK
    made, held = threading.Event(), threading.Event()
    real_make = locking.make_directories

    def make_directories(path: Path):  # the waiter makes the root, then the other install takes the lock
        found = real_make(path)
        if threading.current_thread().name == "waiter" and found:
            made.set()
            assert held.wait(10)
        return found

    monkeypatch.setattr(locking, "make_directories", make_directories)
    failures: list[BaseException] = []

    def waiter() -> None:
        try:
            with locking.root_lock(lock, "install broken", 10, lambda _: None, create_root=True):
                raise RuntimeError("the waiter's install fails")
        except RuntimeError as error:
            failures.append(error)

    thread = threading.Thread(target=waiter, name="waiter")
    thread.start()
    assert made.wait(10)
    with locking.root_lock(lock, "install good", 10, lambda _: None, create_root=True):
        held.set()  # the waiter now finds this lock file, held
        (root / "algorithm_example-1.1.0").mkdir()  # what the good install leaves
    thread.join(10)
    assert [str(error) for error in failures] == ["the waiter's install fails"]
    assert sorted(path.name for path in root.iterdir()) == [ROOT_LOCK, "algorithm_example-1.1.0"]


def test_a_failed_install_that_made_the_root_leaves_nothing(tmp_path: Path) -> None:
    root = tmp_path / "hall" / "root"
    with pytest.raises(RuntimeError):
        with locking.root_lock(root / ROOT_LOCK, "install broken", 1, lambda _: None, create_root=True):
            (root / "algorithm_example-1.0.0.tmp").mkdir()
            raise RuntimeError("fails")
    assert list(tmp_path.iterdir()) == []


def _failing(lock: Path, failures: list[BaseException]) -> None:
    try:
        with locking.root_lock(lock, "install broken", 10, lambda _: None, create_root=True):
            raise RuntimeError("fails")
    except RuntimeError as error:
        failures.append(error)


def test_the_last_failing_install_leaves_nothing_when_another_made_the_root(tmp_path: Path, monkeypatch) -> None:
    """One install makes the directories, another creates the lock file, and the maker takes the lock first:
    four failing installs at once did that one time in ten, and left the root behind."""
    root = tmp_path / "hall" / "line" / "root"
    lock = root / ROOT_LOCK
    made, created = threading.Event(), threading.Event()
    real_make, real_open = locking.make_directories, locking._open

    def make_directories(path: Path):
        found = real_make(path)
        if threading.current_thread().name == "maker" and found:
            made.set()
            assert created.wait(10)  # the other creates the lock file meanwhile
        return found

    def open_lock(path: Path):
        opened = real_open(path)
        if threading.current_thread().name == "creator" and opened[1] and not created.is_set():
            created.set()
            deadline = time.monotonic() + 10
            while os.path.lexists(tmp_path / "hall") and time.monotonic() < deadline:
                time.sleep(0.001)  # takes the lock only once the maker failed and took the root away
        return opened

    monkeypatch.setattr(locking, "make_directories", make_directories)
    monkeypatch.setattr(locking, "_open", open_lock)
    failures: list[BaseException] = []
    maker = threading.Thread(target=_failing, args=(lock, failures), name="maker")
    maker.start()
    assert made.wait(10)
    creator = threading.Thread(target=_failing, args=(lock, failures), name="creator")
    creator.start()
    for thread in (maker, creator):
        thread.join(10)
    assert len(failures) == 2
    assert list(tmp_path.iterdir()) == []


def test_the_creator_of_the_lock_file_removes_it_after_another_held_it_first(tmp_path: Path,
                                                                              monkeypatch) -> None:
    """In a root that exists, the install that created the lock file waits while another holds it; when both
    fail, the root is as it was: the creator still knows the file as its own."""
    lock = tmp_path / ROOT_LOCK
    created, retried = threading.Event(), threading.Event()
    real_open = locking._open
    opened_by_creator: list[bool] = []

    def open_lock(path: Path):
        opened = real_open(path)
        if threading.current_thread().name == "creator":
            opened_by_creator.append(opened[1])
            if opened[1]:
                created.set()
            else:
                retried.set()  # opened again while the other holds it
        return opened

    monkeypatch.setattr(locking, "_open", open_lock)
    failures: list[BaseException] = []
    taken = threading.Event()

    def holder() -> None:
        assert created.wait(10)
        try:
            with locking.root_lock(lock, "install broken", 10, lambda _: None):
                taken.set()
                assert retried.wait(10)
                raise RuntimeError("fails")
        except RuntimeError as error:
            failures.append(error)

    other = threading.Thread(target=holder)
    other.start()
    real_try = locking._try_lock
    monkeypatch.setattr(locking, "_try_lock", lambda handle: (threading.current_thread().name != "creator"
                                                             or taken.wait(10)) and real_try(handle))
    creator = threading.Thread(target=_failing, args=(lock, failures), name="creator")
    creator.start()
    for thread in (other, creator):
        thread.join(10)
    assert len(failures) == 2 and opened_by_creator[:2] == [True, False]
    assert list(tmp_path.iterdir()) == []


def test_a_file_someone_put_beside_the_way_to_a_new_root_is_kept(tmp_path: Path) -> None:
    """Only the root may hold what failed installs leave (``*.tmp``): a parent holding anything else is kept."""
    root = tmp_path / "hall" / "line" / "root"
    with pytest.raises(RuntimeError):
        with locking.root_lock(root / ROOT_LOCK, "install broken", 1, lambda _: None, create_root=True):
            (tmp_path / "hall" / "operator-notes.tmp").write_text("kept\n")
            raise RuntimeError("fails")
    assert (tmp_path / "hall" / "operator-notes.tmp").read_text() == "kept\n"
    assert list(root.iterdir()) == []  # the lock file went with the install that created it

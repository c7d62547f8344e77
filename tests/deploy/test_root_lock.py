"""The root lock's rule for new roots, step by step: an install that failed removes only a root it made *and*
whose lock file it created; a waiter that remade a vanished root but found another install's lock file there
never removes what that install left."""

from __future__ import annotations

import sys
import threading
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

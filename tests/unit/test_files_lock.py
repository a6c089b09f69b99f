"""``files.locked_file``: one holder at a time across threads (each its own file description), the lock file
removed on release without letting a waiter and a newcomer in together; ``files.user_lock_directory``: private."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from supplychain.files import locked_file, user_lock_directory
from tests.support.concurrency import run_together


def test_one_holder_at_a_time_and_no_file_left(tmp_path: Path):
    path = tmp_path / "tag.lock"
    inside = 0
    most = 0
    guard = threading.Lock()

    def hold() -> None:
        nonlocal inside, most
        for _ in range(20):
            with locked_file(path):
                with guard:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0.0005)  # a holder that takes its time, so others wait on a file it then removes
                with guard:
                    inside -= 1

    run_together([hold] * 6)
    assert most == 1
    assert not path.exists()


def test_the_lock_directory_is_private(tmp_path: Path):
    directory = user_lock_directory({"XDG_RUNTIME_DIR": str(tmp_path)})
    assert directory == tmp_path / "supplychain" / "locks" and directory.is_dir()
    assert os.stat(directory).st_mode & 0o777 == 0o700
    os.chmod(tmp_path / "supplychain", 0o755)  # open to others: not used
    assert user_lock_directory({"XDG_RUNTIME_DIR": str(tmp_path)}) is None

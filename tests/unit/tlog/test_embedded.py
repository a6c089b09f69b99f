"""``tlog.server.embedded``: the default local log in the user's data directory, appended to in-process (issue 8,
item 5): where it lives, creation on first use, answers checked with ``log.pub``, and its directory lock shared
with concurrent signers and refused to a long holder (a ``tlog serve``). TEST-ONLY keys."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from supplychain.tlog.server.directory import init_log_directory, lock_log_directory
from supplychain.tlog.server.embedded import (
    DefaultLogBusyError,
    EmbeddedLog,
    default_log_keyring,
    default_log_path,
)
from supplychain.trust.error import LogEntryError
from supplychain.trust.keyring import read_public_key
from tests.support.tlog import Signer


def test_default_log_path_follows_xdg_data_home(tmp_path: Path):
    assert default_log_path({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "supplychain" / "tlog"
    home = Path.home() / ".local" / "share" / "supplychain" / "tlog"
    assert default_log_path({}) == home
    assert default_log_path({"XDG_DATA_HOME": ""}) == home
    assert default_log_path({"XDG_DATA_HOME": "relative/dir"}) == home  # the XDG spec: ignore a relative path


def test_the_test_session_never_uses_the_real_data_directory(data_home: Path):
    assert os.environ["XDG_DATA_HOME"] == str(data_home)
    assert default_log_path() == data_home / "supplychain" / "tlog"


def test_first_append_creates_the_log_and_its_answers_verify_with_log_pub(tmp_path: Path):
    path = tmp_path / "data" / "supplychain" / "tlog"
    assert len(default_log_keyring({"XDG_DATA_HOME": str(tmp_path / "data")})) == 0  # no log: no key, no log made
    assert not path.exists()
    log = EmbeddedLog(path)
    signer = Signer()
    record = signer.hashedrekord(b"artifact one")
    first = log.create_hashedrekord(record)
    assert log.created and first.created and first.entry.log_index == 0
    assert (path / "config.json").is_file() and (path / "log.pub").is_file()
    again = EmbeddedLog(path).create_hashedrekord(record)
    assert not again.created and again.entry.uuid == first.entry.uuid  # logged once, returned again
    dsse = EmbeddedLog(path).create_dsse(signer.envelope(b'{"x": 1}'), [signer.pem])
    assert dsse.entry.log_index == 1 and dsse.verification.checkpoint is not None
    keyring = default_log_keyring({"XDG_DATA_HOME": str(tmp_path / "data")})
    assert [log.key.log_id_hex for log in keyring] == [first.entry.entry.log_id]
    assert next(iter(keyring)).source == str(path / "log.pub")


def test_answers_are_checked_with_the_pinned_key(tmp_path: Path):
    other = init_log_directory(tmp_path / "other")
    pinned = EmbeddedLog(tmp_path / "log", keyring=read_public_key(other.public_key_path, None))
    with pytest.raises(LogEntryError):
        pinned.create_hashedrekord(Signer().hashedrekord(b"artifact"))


def test_a_signer_waits_for_a_short_holder(tmp_path: Path):
    path = tmp_path / "log"
    init_log_directory(path)
    lock = lock_log_directory(path)  # another signer's append, in flight
    releaser = threading.Timer(0.4, lock.release)
    releaser.start()
    started = time.monotonic()
    try:
        entry = EmbeddedLog(path).create_hashedrekord(Signer().hashedrekord(b"artifact"))
    finally:
        releaser.join()
    assert entry.created and time.monotonic() - started >= 0.3


def test_a_long_holder_is_refused_by_pid(tmp_path: Path):
    path = tmp_path / "log"
    init_log_directory(path)
    lock = lock_log_directory(path)  # a `tlog serve` of the directory
    try:
        with pytest.raises(DefaultLogBusyError) as caught:
            EmbeddedLog(path, hold_limit=0.3).create_hashedrekord(Signer().hashedrekord(b"artifact"))
    finally:
        lock.release()
    assert f"in use by process {os.getpid()}" in caught.value.message
    assert "--rekor-url" in caught.value.hint and str(path / "log.pub") in caught.value.hint

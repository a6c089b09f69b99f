"""Key files on disk: modes, atomic all-or-nothing writes, refusal to overwrite, bounded reads."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from supplychain import keys
from supplychain.keys import file as key_file


@pytest.fixture(scope="module")
def pair() -> keys.KeyPair:
    return keys.generate_key_pair()


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_key_pair_writes_an_encrypted_0600_key_and_a_public_key(
    tmp_path: Path, pair: keys.KeyPair, permissive_umask: None
):
    written = keys.write_key_pair(tmp_path / "cosign", pair, "pw")
    assert written == keys.KeyPairFiles(tmp_path / "cosign.key", tmp_path / "cosign.pub")
    assert listing(tmp_path) == ["cosign.key", "cosign.pub"]  # no temporary files
    assert mode(written.private_key) == 0o600  # even with umask 0
    assert mode(written.public_key) == 0o644
    assert keys.decrypt_private_key(written.private_key.read_bytes(), "pw").public_key() == pair.public_key
    assert keys.load_public_key_pem(written.public_key.read_bytes()) == pair.public_key


def test_public_key_mode_follows_the_umask_private_key_does_not(tmp_path: Path, pair: keys.KeyPair):
    old = os.umask(0o077)
    try:
        written = keys.write_key_pair(tmp_path / "k", pair, "")
    finally:
        os.umask(old)
    assert mode(written.private_key) == 0o600
    assert mode(written.public_key) == 0o600


@pytest.mark.parametrize("existing", ["cosign.key", "cosign.pub"])
def test_existing_files_are_not_overwritten_without_force(tmp_path: Path, pair: keys.KeyPair, existing: str):
    (tmp_path / existing).write_bytes(b"precious")
    with pytest.raises(keys.KeyExistsError, match=f"refusing to overwrite .*{existing}") as info:
        keys.write_key_pair(tmp_path / "cosign", pair, "pw")
    assert "--force" in info.value.hint
    assert listing(tmp_path) == [existing]  # nothing else written, no temporary files
    assert (tmp_path / existing).read_bytes() == b"precious"
    with pytest.raises(keys.KeyExistsError):
        keys.ensure_key_pair_absent(tmp_path / "cosign")


def test_a_dangling_symlink_counts_as_existing(tmp_path: Path, pair: keys.KeyPair):
    (tmp_path / "cosign.key").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(keys.KeyExistsError):
        keys.write_key_pair(tmp_path / "cosign", pair, "pw")
    assert not (tmp_path / "elsewhere").exists()


def test_force_replaces_both_files(tmp_path: Path, pair: keys.KeyPair):
    (tmp_path / "cosign.key").write_bytes(b"old key")
    (tmp_path / "cosign.pub").write_bytes(b"old pub")
    keys.write_key_pair(tmp_path / "cosign", pair, "pw", force=True)
    assert listing(tmp_path) == ["cosign.key", "cosign.pub"]  # no backups or temporaries left
    assert keys.decrypt_private_key((tmp_path / "cosign.key").read_bytes(), "pw").public_key() == pair.public_key
    assert mode(tmp_path / "cosign.key") == 0o600


def test_failure_after_the_key_is_placed_removes_it(tmp_path: Path, pair: keys.KeyPair):
    (tmp_path / "cosign.pub").mkdir()  # the public key cannot be renamed onto a directory
    with pytest.raises(keys.KeyFileError, match=r"cannot write .*cosign\.pub"):
        keys.write_key_pair(tmp_path / "cosign", pair, "pw", force=True)
    assert listing(tmp_path) == ["cosign.pub"]  # no lone cosign.key, no temporary files
    assert listing(tmp_path / "cosign.pub") == []


def test_failure_with_force_restores_the_previous_key(tmp_path: Path, pair: keys.KeyPair):
    (tmp_path / "cosign.key").write_bytes(b"old key")
    (tmp_path / "cosign.pub").mkdir()
    with pytest.raises(keys.KeyFileError):
        keys.write_key_pair(tmp_path / "cosign", pair, "pw", force=True)
    assert listing(tmp_path) == ["cosign.key", "cosign.pub"]
    assert (tmp_path / "cosign.key").read_bytes() == b"old key"


def test_missing_directory_is_an_error_and_writes_nothing(tmp_path: Path, pair: keys.KeyPair):
    with pytest.raises(keys.KeyFileError, match="No such file or directory"):
        keys.write_key_pair(tmp_path / "missing" / "cosign", pair, "pw")
    assert listing(tmp_path) == []


def test_a_file_in_place_of_the_directory_is_an_error(tmp_path: Path, pair: keys.KeyPair):
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(keys.KeyFileError, match="Not a directory"):
        keys.write_key_pair(tmp_path / "file" / "cosign", pair, "pw")
    assert listing(tmp_path) == ["file"]


def _write_as_unprivileged_user(prefix: Path, pair: keys.KeyPair) -> str:
    """Run write_key_pair in a forked child that dropped root (root may write anywhere); return its error."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        os.close(read_end)
        message = b"no error"
        try:
            os.setgid(65534)
            os.setuid(65534)
            keys.write_key_pair(prefix, pair, "pw")
        except keys.KeyFileError as exc:
            message = f"KeyFileError: {exc.message}".encode()
        except BaseException as exc:  # report anything else to the parent instead of running on
            message = repr(exc).encode()
        os.write(write_end, message)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        result = pipe.read().decode()
    os.waitpid(pid, 0)
    return result


def test_read_only_directory_is_an_error_and_writes_nothing(pair: keys.KeyPair):
    # Outside tmp_path, whose parents root keeps at 0700: the child must reach the directory and fail to write.
    directory = Path(tempfile.mkdtemp(prefix="supplychain-ro-"))
    try:
        directory.chmod(0o555)
        if os.geteuid() == 0:
            error = _write_as_unprivileged_user(directory / "cosign", pair)
        else:
            with pytest.raises(keys.KeyFileError) as info:
                keys.write_key_pair(directory / "cosign", pair, "pw")
            error = f"KeyFileError: {info.value.message}"
        assert error.startswith("KeyFileError: cannot write")
        assert "Permission denied" in error
        assert listing(directory) == []
    finally:
        directory.chmod(0o700)
        shutil.rmtree(directory)


def test_no_clobber_holds_even_if_a_file_appears_after_the_check(tmp_path: Path, pair: keys.KeyPair):
    # _install is the step after the existence check: link(2) must refuse a file created in between.
    target = tmp_path / "cosign.key"
    target.write_bytes(b"created concurrently")
    with pytest.raises(keys.KeyExistsError):
        key_file._install([(target, b"new", 0o600)], force=False)
    assert target.read_bytes() == b"created concurrently"
    assert listing(tmp_path) == ["cosign.key"]


def test_write_public_key_replaces_atomically(tmp_path: Path, pair: keys.KeyPair):
    target = tmp_path / "out.pub"
    target.write_bytes(b"old")
    assert keys.write_public_key(target, pair.public_key) == target
    assert target.read_bytes() == pair.public_key.pem()
    with pytest.raises(keys.KeyExistsError):
        keys.write_public_key(target, pair.public_key, force=False)
    assert listing(tmp_path) == ["out.pub"]


def test_read_key_file_errors(tmp_path: Path):
    with pytest.raises(keys.KeyFileError, match="does not exist"):
        keys.read_key_file(tmp_path / "nope.key")
    with pytest.raises(keys.KeyFileError, match="cannot read key file"):
        keys.read_key_file(tmp_path)
    big = tmp_path / "big.key"
    big.write_bytes(b"A" * (key_file.MAX_KEY_FILE_BYTES + 1))
    with pytest.raises(keys.KeyFileError, match="not a key file"):
        keys.read_key_file(big)
    small = tmp_path / "small.key"
    small.write_bytes(b"data")
    assert keys.read_key_file(small) == b"data"


def test_key_pair_paths_follow_the_prefix():
    assert keys.key_pair_paths("import-cosign") == keys.KeyPairFiles(
        Path("import-cosign.key"), Path("import-cosign.pub")
    )

"""``files.replace_all``: every file replaced or none, whatever fails (a missing directory, chunks that raise
mid-way), with no temporary file left behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from supplychain.files import replace_all


def test_every_file_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"old a")
    replace_all([(tmp_path / "a", b"new a"), (tmp_path / "b", [b"new ", b"b"])])
    assert (tmp_path / "a").read_bytes() == b"new a" and (tmp_path / "b").read_bytes() == b"new b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def test_a_target_that_cannot_be_written_leaves_every_other_untouched(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"old a")
    with pytest.raises(OSError) as caught:
        replace_all([(tmp_path / "a", b"new a"), (tmp_path / "missing" / "b", b"b")])
    assert caught.value.filename == str(tmp_path / "missing" / "b")  # the target, not its temporary
    assert (tmp_path / "a").read_bytes() == b"old a"
    assert [p.name for p in tmp_path.iterdir()] == ["a"]


def test_chunks_that_raise_mid_way_leave_nothing(tmp_path: Path) -> None:
    def broken() -> Iterator[bytes]:
        yield b"half"
        raise ValueError("the blob is not its digest")

    with pytest.raises(ValueError, match="not its digest"):
        replace_all([(tmp_path / "a", b"a"), (tmp_path / "b", broken())])
    assert list(tmp_path.iterdir()) == []


def test_a_target_that_is_a_directory_is_named_not_its_temporary(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(OSError) as raised:
        replace_all([(tmp_path / "out", b"x")])
    assert raised.value.filename == str(tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # and no temporary is left beside it

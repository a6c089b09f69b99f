"""A tag outside the registry grammar (non-ASCII, a trailing newline) is a one-line usage error, exit 3."""

from __future__ import annotations

import pytest

from supplychain.errors import ExitCode
from tests.unit.cli.test_keys import assert_one_line_error, run

# Never contacted: the reference is refused before any client is built.
_REGISTRY = "127.0.0.1:9"


@pytest.mark.parametrize("bad", ["tagé", "latest\n"])
@pytest.mark.parametrize("command", ["ls", "copy-source", "copy-destination"])
def test_a_bad_tag_is_refused_with_an_error_and_a_hint(tmp_path, command: str, bad: str):
    reference = f"{_REGISTRY}/team/app:{bad}"
    args = {
        "ls": ["ls", reference],
        "copy-source": ["copy", reference, f"oci:{tmp_path / 'layout'}"],
        "copy-destination": ["copy", f"oci:{tmp_path / 'layout'}:v1", reference],
    }[command]
    result = run(args)
    assert_one_line_error(result, ExitCode.INVALID_INPUT, "invalid reference")
    assert result.error_lines[1].startswith("hint: ")
    assert not (tmp_path / "layout").exists()

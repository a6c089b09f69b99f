"""Every CLI command is a thin adapter (STYLE.md section 1; issue 9: "no CLI command over ~40 lines"): options, one
library call, a renderer. The work belongs in the library rows, where the policy engine, the CI gate and the
webhook can call it too. This test reads the source, so a command that grows past the limit fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CLI = Path(__file__).resolve().parents[3] / "supplychain" / "cli"
MAX_BODY_LINES = 40


def _commands() -> list[tuple[str, str, int]]:
    found = []
    for path in sorted(CLI.glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.FunctionDef):
                continue
            if not any("command" in ast.unparse(decorator) for decorator in node.decorator_list):
                continue
            body = node.body
            if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:]  # the docstring is the command's --help, not code
            end = body[-1].end_lineno
            assert end is not None
            found.append((path.name, node.name, end - body[0].lineno + 1))
    return found


def test_the_commands_are_found() -> None:
    names = {name for _, name, _ in _commands()}
    assert {"sign_command", "verify_command", "copy_command"} <= names, names


@pytest.mark.parametrize(("module", "command", "lines"), _commands(), ids=lambda value: str(value))
def test_each_command_body_is_short(module: str, command: str, lines: int) -> None:
    assert lines <= MAX_BODY_LINES, (
        f"{module}:{command} has {lines} lines of code; move the work into the library (limit {MAX_BODY_LINES})")

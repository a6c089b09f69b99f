"""The error contract (issue 8.15): every error ends in one ``error:`` line and one ``hint:`` line, click's usage
errors included, and every ``SupplyChainError`` raised in the code base carries a hint."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
from pathlib import Path

import click
import pytest

import supplychain
from supplychain.cli.main import main
from supplychain.errors import ExitCode, SupplyChainError
from supplychain.layout import OciLayout
from supplychain.oci.model import Index
from tests.support.tlsca import make_certificates


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def two_lines(err: str) -> tuple[str, str]:
    """The error and hint lines, and nothing else (no Usage:/Try/Error: block, no traceback)."""
    lines = err.strip().splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith("error: ") and lines[1].startswith("hint: "), err
    assert "Usage:" not in err and "Try '" not in err and "Traceback" not in err
    return lines[0], lines[1]


# -- every raise site carries a hint -----------------------------------------------------------------------------


def _modules() -> list[object]:
    return [importlib.import_module(m.name) for m in pkgutil.walk_packages(supplychain.__path__, "supplychain.")
            if m.name != "supplychain.__main__"]


def _error_class(module: object, call: ast.Call) -> type[SupplyChainError] | None:
    func = call.func
    found: object = None
    if isinstance(func, ast.Name):
        found = getattr(module, func.id, None)
    elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        found = getattr(getattr(module, func.value.id, None), func.attr, None)
    return found if isinstance(found, type) and issubclass(found, SupplyChainError) else None


# Raised by the HTTP server's handlers and answered on the connection, never printed by the CLI.
_NOT_PRINTED = {"supplychain.httpserver.route.HttpError"}


def _hintless_raises() -> list[str]:
    missing = []
    for module in _modules():
        for node in ast.walk(ast.parse(inspect.getsource(module))):  # type: ignore[arg-type]
            if not isinstance(node, ast.Raise) or not isinstance(node.exc, ast.Call):
                continue
            cls = _error_class(module, node.exc)
            if cls is None or any(k.arg in ("hint", None) for k in node.exc.keywords):
                continue
            if f"{cls.__module__}.{cls.__qualname__}" in _NOT_PRINTED:
                continue
            own_init = "__init__" in cls.__dict__ and "hint" in inspect.getsource(cls.__init__)
            if not cls.default_hint and not own_init:
                missing.append(f"{module.__name__}:{node.lineno}: {cls.__name__}")  # type: ignore[attr-defined]
    return missing


def test_every_supplychain_error_raised_in_the_code_base_carries_a_hint():
    assert _hintless_raises() == []


def test_the_walk_finds_raise_sites():
    # The walk is not vacuous: it resolves the classes of the code base's raise statements.
    seen = 0
    for module in _modules():
        for node in ast.walk(ast.parse(inspect.getsource(module))):  # type: ignore[arg-type]
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and _error_class(module, node.exc):
                seen += 1
    assert seen > 200


@click.command("boom")
def BOOM() -> None:  # a command for the test below, found through the lazy command table
    """Raise an error without a hint."""
    from supplychain.errors import NotFoundError

    raise NotFoundError("nothing here", hint="")


def test_the_boundary_never_prints_an_error_without_a_hint(capsys: pytest.CaptureFixture[str], monkeypatch):
    # An error raised without a hint (a new site that forgot one) still gets a hint line, by its exit code.
    from supplychain.cli import main as cli_main

    monkeypatch.setitem(cli_main._COMMANDS, "boom", f"{__name__}:BOOM")
    code, _, err = run(["boom"], capsys)
    assert code == ExitCode.NOT_FOUND
    error, hint = two_lines(err)
    assert error == "error: nothing here"
    assert hint == "hint: check the name, tag or digest, and where it is looked up"


# -- click's usage errors ----------------------------------------------------------------------------------------


def test_unknown_flag(capsys: pytest.CaptureFixture[str]):
    code, out, err = run(["inspect", "--bogus", "x"], capsys)
    assert (code, out) == (ExitCode.USAGE, "")
    assert two_lines(err) == ("error: No such option: --bogus",
                              "hint: run 'supplychain inspect --help' for the options")
    code, _, err = run(["inspect", "--platfrom", "linux/amd64", "x"], capsys)
    assert code == ExitCode.USAGE
    assert two_lines(err)[1] == "hint: did you mean --platform? run 'supplychain inspect --help' for the options"


def test_missing_key(capsys: pytest.CaptureFixture[str]):
    code, _, err = run(["public-key"], capsys)
    assert code == ExitCode.USAGE
    error, hint = two_lines(err)
    assert error == "error: Missing option '--key' / '-k'."
    assert hint == "hint: pass --key/-k; run 'supplychain public-key --help' for what it takes"
    # sign without --key is keyless signing (issue 11): keyless-only flags with --key are the usage error
    code, _, err = run(["sign", "--key", "k.key", "--staging", "--reference-name", "r.example/a", "oci:/nowhere:x"],
                       capsys)
    assert code == ExitCode.USAGE
    assert "--staging: keyless options, not with --key" in two_lines(err)[0]


def test_path_that_does_not_exist(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    code, _, err = run(["verify", "--key", "k.pub", "--ca-file", str(tmp_path / "no.pem"), "oci:/x:y"], capsys)
    assert code == ExitCode.USAGE
    error, hint = two_lines(err)
    assert "--ca-file" in error and "does not exist" in error
    assert hint == "hint: check the path (relative paths start at the current directory)"


def test_unknown_command_and_missing_argument(capsys: pytest.CaptureFixture[str]):
    code, _, err = run(["no-such-command"], capsys)
    assert code == ExitCode.USAGE
    assert two_lines(err) == ("error: No such command 'no-such-command'.",
                              "hint: run 'supplychain --help' for the commands")
    code, _, err = run(["tlog", "nope"], capsys)
    assert code == ExitCode.USAGE
    assert two_lines(err)[1] == "hint: run 'supplychain tlog --help'"
    code, _, err = run(["inspect"], capsys)
    assert code == ExitCode.USAGE
    assert two_lines(err)[1] == "hint: pass REFERENCE; run 'supplychain inspect --help' for what it takes"


def test_a_command_usage_error(capsys: pytest.CaptureFixture[str]):
    code, _, err = run(["copy", "--platform", "linux/amd64", "--all-platforms", "oci:/a:b", "oci:/c:d"], capsys)
    assert code == ExitCode.USAGE
    assert two_lines(err) == ("error: --platform and --all-platforms exclude each other",
                              "hint: run 'supplychain copy --help'")


def test_group_without_a_command_still_prints_its_help(capsys: pytest.CaptureFixture[str]):
    code, _, err = run(["tlog"], capsys)
    assert code == ExitCode.USAGE
    assert "Commands:" in err


# -- the three errors that had no hint -------------------------------------------------------------------------


def test_digest_not_in_a_layout(capsys: pytest.CaptureFixture[str], fixture_layout: Path):
    code, _, err = run(["inspect", f"oci:{fixture_layout}@sha256:{'a' * 64}"], capsys)
    assert code == ExitCode.NOT_FOUND
    error, hint = two_lines(err)
    assert error == f"error: manifest sha256:{'a' * 64} not found in oci:{fixture_layout}"
    assert hint == f"hint: check the digest; the layout's tags: multi, single (supplychain ls oci:{fixture_layout})"


def test_missing_platform_manifest_names_it_and_the_platforms_there(
    capsys: pytest.CaptureFixture[str], fixture_layout_copy: Path
):
    # The index copied without one platform's manifest (skopeo copy --multi-arch index-only does so).
    index = OciLayout(fixture_layout_copy).get_manifest("multi")
    assert isinstance(index, Index)
    arm = next(d for d in index.manifests if d.platform and d.platform.architecture == "arm64")
    (fixture_layout_copy / "blobs" / "sha256" / arm.digest.hex).unlink()
    for args in (["inspect"], ["inspect", "--raw"], ["inspect", "--config"]):
        code, _, err = run([*args, f"oci:{fixture_layout_copy}:multi", "--platform", "linux/arm64"], capsys)
        assert code == ExitCode.NOT_FOUND
        error, hint = two_lines(err)
        assert error == (f"error: the index lists platform linux/arm64/v8 ({arm.digest}), but its manifest is not "
                         f"in oci:{fixture_layout_copy}")
        assert hint == "hint: choose a platform that is there with --platform: linux/amd64"
    code, _, err = run(["copy", f"oci:{fixture_layout_copy}:multi", "--platform", "linux/arm64",
                        f"oci:{fixture_layout_copy.parent / 'out'}:x"], capsys)
    assert code == ExitCode.NOT_FOUND
    assert two_lines(err)[1] == "hint: choose a platform that is there with --platform: linux/amd64"
    # Control: the platform that is there still works.
    code, out, err = run(["inspect", f"oci:{fixture_layout_copy}:multi", "--platform", "linux/amd64", "-o", "json"],
                         capsys)
    assert code == 0, err
    assert json.loads(out)["platform"] == "linux/amd64"


def test_a_platform_the_index_lacks(capsys: pytest.CaptureFixture[str], fixture_layout: Path):
    code, _, err = run(["inspect", f"oci:{fixture_layout}:multi", "--platform", "linux/s390x"], capsys)
    assert code == ExitCode.NOT_FOUND
    assert two_lines(err) == ("error: no manifest for platform linux/s390x in the index",
                              "hint: available: linux/amd64, linux/arm64/v8; choose one with --platform")


def test_bad_regexp(capsys: pytest.CaptureFixture[str], fixture_layout: Path, tmp_path: Path):
    certs = make_certificates(tmp_path / "tls")
    code, _, err = run(["verify", "--ca-roots", str(certs.ca_cert), "--certificate-identity-regexp", "(unclosed",
                        f"oci:{fixture_layout}:single"], capsys)
    assert code == ExitCode.INVALID_INPUT
    error, hint = two_lines(err)
    assert error.startswith("error: --certificate-identity-regexp '(unclosed' is not a regular expression")
    assert hint == ("hint: fix the pattern (RE2/Python syntax, unanchored: ^...$ to anchor), or pass the exact value "
                    "with --certificate-identity")

"""What a command imports before its first request (issue 8.13, the same-registry copy; issue 10.1 widens it to
every command's --help and a key-based verify, against ``heavy_modules.txt`` beside this file).

Each check runs a fresh interpreter, as a user's command does, and looks at ``sys.modules`` afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from supplychain import keys
from tests.support.fixture import build_fixture_layout
from tests.unit.cli.test_help import COMMANDS

# Heavy modules that a copy or a key-based command must not load when nothing needs them.
NOT_AT_START = ("rich", "pygments")


def loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(n for n, m in sys.modules.items() if m is not None)))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_importing_httpx_through_supplychain_skips_httpx_cli() -> None:
    modules = loaded_after("import supplychain, httpx")
    assert "httpx" in modules
    assert not [name for name in NOT_AT_START if name in modules or any(m.startswith(name + ".") for m in modules)]


def test_httpx_main_still_runs_the_real_cli() -> None:
    code = "import supplychain, httpx, sys\nsys.argv = ['httpx', '--help']\nhttpx.main()"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0
    assert "next generation HTTP client" in result.stdout


def test_httpx_imported_first_is_left_alone() -> None:
    modules = loaded_after("import httpx, supplychain")
    assert "rich.console" in modules  # httpx's real CLI module: we only step in before httpx is imported


def test_copy_without_a_terminal_does_not_import_rich() -> None:
    code = (
        "from supplychain.cli.progress import TransferProgress\n"
        "with TransferProgress() as progress:\n    pass"
    )
    assert not any(m == "rich" or m.startswith("rich.") for m in loaded_after(code))


def test_the_command_line_never_imports_trio() -> None:
    # httpcore imports trio when it is installed (only for async callers); the CLI is synchronous.
    modules = loaded_after("import supplychain.cli.main, httpx\nhttpx.Client().close()")
    assert "httpx" in modules
    assert "trio" not in modules


# -- issue 10.1: every --help, and a key-based verify, against the list of heavy modules beside this file ----------

HEAVY_MODULES = Path(__file__).with_name("heavy_modules.txt")


def heavy_modules(where: str) -> dict[str, str]:
    """``module -> why`` of the list's entries refused in ``where`` (``help`` includes ``everywhere``)."""
    entries = {}
    for line in HEAVY_MODULES.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            module, scope, why = line.split(maxsplit=2)
            assert scope in ("everywhere", "help"), line
            if scope == "everywhere" or where == "help":
                entries[module] = why
    return entries


def heavy_loaded(modules: set[str], where: str) -> dict[str, str]:
    # supplychain/__init__.py registers a stand-in httpx._main before httpx is imported: it is not httpx.
    real = modules - {"httpx._main"} if "httpx" not in modules else modules
    return {name: why for name, why in heavy_modules(where).items()
            if name in real or any(m.startswith(name + ".") for m in real)}


LAST_STDERR = [""]
"""The standard error of the last ``command_modules`` run."""


def command_modules(args: list[str], env: dict[str, str] | None = None, *, before: str = "") -> set[str]:
    """``sys.modules`` at the exit of ``supplychain ARGS`` run in a fresh interpreter (through ``cli.main.main``, as
    the console script runs it), after the code ``before``; the command must succeed."""
    probe = (
        "import atexit, json, sys\n"
        + before +
        "atexit.register(lambda: print('\\nMODULES ' + json.dumps(sorted(n for n, m in sys.modules.items()"
        " if m is not None)), file=sys.__stderr__))\n"
        "from supplychain.cli.main import main\n"
        "main(sys.argv[1:])\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    LAST_STDERR[0] = done.stderr
    line = [part for part in done.stderr.splitlines() if part.startswith("MODULES ")][-1]
    return set(json.loads(line.removeprefix("MODULES ")))


def test_the_list_names_modules_that_exist() -> None:
    import importlib.util

    for name in heavy_modules("help"):
        assert importlib.util.find_spec(name) is not None, name


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "supplychain")
def test_help_imports_no_heavy_module(path: tuple[str, ...]) -> None:
    modules = command_modules([*path, "--help"])
    assert "supplychain.cli.main" in modules
    assert heavy_loaded(modules, "help") == {}


def test_key_based_verify_imports_no_heavy_module(tmp_path: Path, data_home: Path) -> None:
    # A fixture image signed with a generated key, logged in the default log (sign with no log flags), verified as
    # a user runs it: the SET is checked offline against the default log's key.
    layout = build_fixture_layout(tmp_path)
    pair = keys.generate_key_pair("ecdsa-p256")
    written = keys.write_key_pair(tmp_path / "cosign", pair, b"TEST-ONLY-startup")
    env = {**os.environ, "COSIGN_PASSWORD": "TEST-ONLY-startup"}
    sign = [sys.executable, "-m", "supplychain", "sign", "--key", str(written.private_key),
            "--reference-name", "example.test/app", f"oci:{layout}:single"]
    subprocess.run(sign, check=True, capture_output=True, env=env)
    assert (data_home / "supplychain" / "tlog" / "log.pub").is_file()  # logged: verify checks a real SET

    modules = command_modules(["verify", "--key", str(written.public_key), f"oci:{layout}:single"])

    assert "supplychain.verify.transparency" in modules and "cryptography" in modules  # it did verify
    assert heavy_loaded(modules, "everywhere") == {}


def test_keyless_verify_blob_imports_no_pydantic_nor_the_log_client() -> None:
    # A production keyless bundle verified offline: it needs the trusted root (the sigstore package's data files)
    # and cryptography, but neither pydantic (the root is read by trust.document's small reader) nor the Rekor
    # client, nor rfc3161_client (the bundle has no timestamps).
    vectors = Path(__file__).resolve().parents[2] / ".." / "fixtures" / "vectors" / "tlog" / "sigstore-python"
    modules = command_modules([
        "verify-blob", "--offline", "--bundle", str(vectors / "bundle_v3_github.whl.sigstore"),
        "--certificate-identity", "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml"
        "@refs/tags/v0.1.2", "--certificate-oidc-issuer", "https://token.actions.githubusercontent.com",
        str(vectors / "bundle_v3_github.whl")])
    assert "supplychain.verify.sct" in modules and "supplychain.trust.document" in modules  # it did verify
    for heavy in ("pydantic", "pydantic_core", "rfc3161_client", "supplychain.tlog.client", "supplychain.tlog.answer",
                  "asn1crypto", "nacl", "sqlite3", "rich"):
        assert heavy not in modules, heavy


def test_sign_blob_with_a_key_and_a_log_url_imports_only_the_signing_path(tmp_path: Path, data_home: Path) -> None:
    """``sign-blob --key`` of a cosign key to a plain-HTTP log on this machine (the sign_blob.py benchmark's case):
    no pydantic (Rekor's answers are read by ``tlog.answer``'s strict readers), no asn1crypto (a cosign or
    cryptography PKCS#8 EC key is read without it), no embedded log or sqlite3 (a log URL was given), and no TLS
    context (nothing spoke TLS; ``transport.proxy`` builds it on the first HTTPS request)."""
    from tests.support.tlog import InProcessLog

    log = InProcessLog(tmp_path / "log")
    try:
        key_file = tmp_path / "log.pub"
        key_file.write_bytes(log.directory.public_key_pem())
        pair = keys.generate_key_pair("ecdsa-p256")
        written = keys.write_key_pair(tmp_path / "cosign", pair, b"TEST-ONLY-startup")
        blob = tmp_path / "artifact.txt"
        blob.write_bytes(b"TEST-ONLY artifact\n")
        env = {**os.environ, "COSIGN_PASSWORD": "TEST-ONLY-startup"}
        probe = ("import supplychain.transport.tls as tls\n"
                 "real = tls._new_ssl_context\n"
                 "def counted(*a, **k):\n    print('TLS CONTEXT BUILT', file=sys.__stderr__)\n"
                 "    return real(*a, **k)\n"
                 "tls._new_ssl_context = counted\n")
        modules = command_modules(["sign-blob", "--key", str(written.private_key), "--bundle",
                                   str(tmp_path / "b.json"), "--rekor-url", log.url, "--rekor-public-key",
                                   str(key_file), str(blob)], env=env, before=probe)
    finally:
        log.server.shutdown()
        log.server.server_close()
    assert (tmp_path / "b.json").is_file() and "supplychain.signing.transparency" in modules  # it did sign and log
    assert heavy_loaded(modules, "everywhere").keys() <= {"supplychain.signing.transparency",
                                                          "supplychain.signing.bundle", "supplychain.tlog.client",
                                                          "supplychain.tlog.answer", "nacl"}  # nacl: the key's box
    assert "TLS CONTEXT BUILT" not in LAST_STDERR[0]

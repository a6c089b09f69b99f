"""The one error boundary: one-line errors with a hint, the class's exit code, tracebacks only with --debug."""

from __future__ import annotations

import subprocess
import sys

import pytest

from supplychain.cli.main import main
from supplychain.errors import ExitCode


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def test_version(capsys: pytest.CaptureFixture[str]):
    code, out, _ = run(["version"], capsys)
    assert code == 0
    assert out.startswith("supplychain ")


def test_bad_reference_is_one_line_with_hint(capsys: pytest.CaptureFixture[str]):
    code, out, err = run(["inspect", "Not/A:Ref:"], capsys)
    assert code == ExitCode.INVALID_INPUT
    assert out == ""
    lines = err.strip().splitlines()
    assert lines[0].startswith("error: invalid reference")
    assert lines[1].startswith("hint: ")
    assert len(lines) == 2
    assert "Traceback" not in err


def test_debug_shows_traceback(capsys: pytest.CaptureFixture[str]):
    code, _, err = run(["--debug", "inspect", "Not/A:Ref:"], capsys)
    assert code == ExitCode.INVALID_INPUT
    assert "Traceback" in err
    assert "error: invalid reference" in err


def test_usage_error_exit_code(capsys: pytest.CaptureFixture[str]):
    code, _, err = run(["inspect"], capsys)
    assert code == ExitCode.USAGE
    assert "Missing argument" in err
    code, _, err = run(["no-such-command"], capsys)
    assert code == ExitCode.USAGE


def test_bad_platform(capsys: pytest.CaptureFixture[str], tmp_path):
    code, _, err = run(["inspect", f"oci:{tmp_path}", "--platform", "linux"], capsys)
    assert code == ExitCode.INVALID_INPUT
    assert "platform" in err


def test_help_does_not_import_heavy_modules():
    # STYLE.md: `supplychain --help` must not load httpx, cryptography, sigstore, cyclonedx or spdx_tools.
    probe = (
        "import sys\n"
        "from supplychain.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('httpx', 'cryptography', 'sigstore', 'cyclonedx', 'spdx_tools', 'nacl', 'rich',"
        " 'pydantic') if m in sys.modules]\n"
        "print('HEAVY:' + ','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "HEAVY:"


def test_debug_after_the_command_and_from_the_environment(capsys: pytest.CaptureFixture[str], monkeypatch):
    code, _, err = run(["inspect", "Not/A:Ref:", "--debug"], capsys)
    assert code == ExitCode.INVALID_INPUT
    assert "Traceback" in err
    monkeypatch.setenv("SUPPLYCHAIN_DEBUG", "1")
    code, _, err = run(["inspect", "Not/A:Ref:"], capsys)
    assert code == ExitCode.INVALID_INPUT
    assert "Traceback" in err


def test_sigterm_unwinds_and_leaves_no_temp_file(tmp_path):
    # A layout whose only layer is a FIFO: the copy blocks reading it, half-written into the destination's
    # temp file, when SIGTERM arrives (timeout, CI cancellation). Finally-blocks must run: no temp file left.
    import json
    import os
    import signal
    import time

    from supplychain.digest import Digest

    data = b"x" * (1 << 20)
    src = tmp_path / "src"
    (src / "blobs" / "sha256").mkdir(parents=True)
    (src / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')

    def blob(content: bytes) -> dict[str, object]:
        digest = Digest.of(content)
        (src / "blobs" / "sha256" / digest.hex).write_bytes(content)
        return {"digest": str(digest), "size": len(content)}

    layer_digest = Digest.of(data)
    os.mkfifo(src / "blobs" / "sha256" / layer_digest.hex)
    config = {"mediaType": "application/vnd.oci.image.config.v1+json", **blob(b'{"os":"linux"}')}
    layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": str(layer_digest), "size": len(data)}
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": config, "layers": [layer]}).encode()
    entry = {"mediaType": "application/vnd.oci.image.manifest.v1+json", **blob(manifest),
             "annotations": {"org.opencontainers.image.ref.name": "t"}}
    (src / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    dst = tmp_path / "dst"
    dst.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "supplychain", "copy", f"oci:{src}:t", f"oci:{dst}:t"],
                            stderr=subprocess.PIPE, text=True)
    with open(src / "blobs" / "sha256" / layer_digest.hex, "wb") as fifo:
        fifo.write(data[: len(data) // 2])
        fifo.flush()
        deadline = time.monotonic() + 20
        while not any(p.name.startswith(".supplychain-tmp") for p in dst.rglob("*")):
            assert time.monotonic() < deadline, "the copy never started writing"
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
    # The writer is closed now: had the signal landed just before the blocking read of the FIFO, that read
    # returns (EOF) and the pending handler runs at once.
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 128 + signal.SIGTERM
    assert err.strip().splitlines()[-2:] == [
        "error: terminated",
        "hint: stopped before the end; temporary files were removed: run the command again to finish"]
    assert not [p for p in dst.rglob("*") if p.name.startswith(".supplychain-tmp")]

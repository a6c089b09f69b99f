"""Issue 8, item 6: ``verify``'s stdout is cosign's. By default (``-o json``) stdout is one JSON array of the
verified payloads per image, on one line, so ``verify ... | jq '.[0].critical.image'`` works, and cosign's
"Verification for REF --" / "The following checks were performed" block, in cosign's wording, goes to stderr
(cosign ``cmd/cosign/cli/verify/verify.go``, ``PrintVerificationHeader`` and ``PrintVerification``). ``-o text``
keeps the human form: each payload on its own line. Several images: one array per image, each on its own line,
as cosign prints them. Signed with no log flags: the embedded default log (item 5). TEST-ONLY keys.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from supplychain.layout import OciLayout
from supplychain.signing.payload import build_payload
from tests.support.signatures import CliResult, generate_cli_key_pair, run_cli
from tests.support.tlog import REPO

pytestmark = pytest.mark.integration

NAME = "registry.example/team/app"
PASSWORD = "TEST-ONLY-verify-output"


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return generate_cli_key_pair(tmp_path_factory.mktemp("output-keys") / "cosign", PASSWORD)


def sign(ref: str, key: Path, *extra: str) -> None:
    result = run_cli(["sign", ref, "--key", str(key), "--reference-name", NAME, *extra],
                     env={"SUPPLYCHAIN_PASSWORD": PASSWORD, "SUPPLYCHAIN_REKOR_URL": None})
    assert result.code == 0, result


def verify(*args: str) -> CliResult:
    return run_cli(["verify", *args], env={"SUPPLYCHAIN_REKOR_URL": None})


def header(ref: str, *checks: str) -> str:
    lines = [f"Verification for {ref} --", "The following checks were performed on each of these signatures:"]
    return "\n".join([*lines, *(f"  - {c}" for c in checks)])


def test_default_stdout_is_one_json_array_and_the_checks_go_to_stderr(fixture_layout_copy: Path,
                                                                      key_pair: tuple[Path, Path]):
    key, pub = key_pair
    digest = OciLayout(fixture_layout_copy).resolve("single").digest
    ref = f"oci:{fixture_layout_copy}@{digest}"
    sign(ref, key)
    sign(ref, key, "--format", "bundle")
    # As a CI job runs it: a subprocess, stdout piped into a JSON reader (jq '.[0].critical.image').
    done = subprocess.run([sys.executable, "-m", "supplychain", "verify", ref, "--key", str(pub)], cwd=REPO,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "SUPPLYCHAIN_REKOR_URL": ""})
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1  # one document, on one line, although two signatures verified
    payloads = json.loads(done.stdout)
    assert payloads[0]["critical"]["image"]["docker-manifest-digest"] == str(digest)
    assert len(payloads) == 2 and payloads[1]["critical"]["image"]["docker-manifest-digest"] == str(digest)
    assert header(ref, "The cosign claims were validated",
                  "Existence of the claims in the transparency log was verified offline",
                  "The signatures were verified against the specified public key") in done.stderr
    assert "Verification for" not in done.stdout

    assert verify(ref, "--key", str(pub), "-o", "json").stdout == done.stdout  # -o json is the same


def test_text_output_is_the_human_form(fixture_layout_copy: Path, key_pair: tuple[Path, Path]):
    key, pub = key_pair
    digest = OciLayout(fixture_layout_copy).resolve("single").digest
    ref = f"oci:{fixture_layout_copy}@{digest}"
    sign(ref, key, "-a", "env=prod")
    sign(ref, key, "-a", "env=prod", "--format", "bundle")
    result = verify(ref, "--key", str(pub), "-a", "env=prod", "-o", "text")
    assert result.code == 0, result
    lines = result.stdout.splitlines()
    assert len(lines) == 2  # one payload per line, as cosign -o text prints them
    expected = json.loads(build_payload(NAME, digest, {"env": "prod"}))
    for line in lines:
        payload = json.loads(line)
        assert isinstance(payload, dict) and payload["critical"] == expected["critical"]
    # cosign's wording and order: the annotations line first (it is cosign's claim verifier's), with its full stop.
    assert header(ref, "The specified annotations were verified.", "The cosign claims were validated",
                  "Existence of the claims in the transparency log was verified offline",
                  "The signatures were verified against the specified public key") in result.stderr


def test_several_images_print_one_array_per_image_per_line(fixture_layout_copy: Path, key_pair: tuple[Path, Path]):
    key, pub = key_pair
    store = OciLayout(fixture_layout_copy)
    amd64, arm64 = store.get_manifest("multi").manifests  # type: ignore[union-attr]
    refs = [f"oci:{fixture_layout_copy}@{d.digest}" for d in (amd64, arm64)]
    for ref in refs:
        sign(ref, key)
    unsigned = f"oci:{fixture_layout_copy}:multi"
    result = verify(refs[0], unsigned, refs[1], "--key", str(pub))
    assert result.code == 1, result
    arrays = [json.loads(line) for line in result.stdout.splitlines()]
    assert [[p["critical"]["image"]["docker-manifest-digest"] for p in a] for a in arrays] == [
        [str(amd64.digest)], [], [str(arm64.digest)]]  # line N is image N; [] for the one that failed
    for ref in refs:
        assert f"Verification for {ref} --" in result.stderr
    assert f"Verification for {unsigned} --" not in result.stderr  # no checks are claimed for a failure

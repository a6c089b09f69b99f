"""Issue 8, item 5: defaults that work together. With no log flags, ``sign`` records the signature in the embedded
default log (the local log in ``$XDG_DATA_HOME/supplychain/tlog``, in-process) and ``verify`` trusts its key, so
``sign --key K`` then ``verify --key P`` passes out of the box, on a layout and on a registry. The evidence is the
real thing (the log's own key verifies it, a served copy of the same directory proves it online, a tampered entry
fails), ``--rekor-url`` still names a served log, and the concurrency cases: two signers at once, and a
``tlog serve`` of the same directory.

Every test runs with its own ``XDG_DATA_HOME`` (``data_home``, tests/conftest.py). TEST-ONLY keys.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from supplychain.errors import ExitCode
from supplychain.layout import OciLayout
from supplychain.tlog.server.directory import open_log_directory
from supplychain.tlog.server.log import LocalLog
from tests.integration.test_verify_tlog_evidence import add_referrer, stored_bundle
from tests.support.registry import RegistryProcess
from tests.support.signatures import CliResult, generate_cli_key_pair, run_cli
from tests.support.tlog import REPO, LogProcess

pytestmark = pytest.mark.integration

NAME = "registry.example/team/app"
PASSWORD = "TEST-ONLY-default-log"
CHECKS = ("  - The cosign claims were validated",
          "  - Existence of the claims in the transparency log was verified offline",
          "  - The signatures were verified against the specified public key")


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return generate_cli_key_pair(tmp_path_factory.mktemp("default-log-keys") / "cosign", PASSWORD)


def sign(ref: str, key: Path, *extra: str) -> CliResult:
    return run_cli(["sign", ref, "--key", str(key), *extra],
                   env={"SUPPLYCHAIN_PASSWORD": PASSWORD, "SUPPLYCHAIN_REKOR_URL": None})


def verify(ref: str, pub: Path, *extra: str) -> CliResult:
    return run_cli(["verify", ref, "--key", str(pub), *extra], env={"SUPPLYCHAIN_REKOR_URL": None})


def default_log(data_home: Path) -> Path:
    return data_home / "supplychain" / "tlog"


def snapshot(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file() and not p.name.startswith(".supplychain")}


def log_size(directory: Path) -> int:
    with LocalLog(open_log_directory(directory)) as log:
        return log.size


def test_sign_then_verify_with_no_log_flags_on_a_layout(fixture_layout_copy: Path, key_pair: tuple[Path, Path],
                                                        data_home: Path):
    key, pub = key_pair
    ref = f"oci:{fixture_layout_copy}:single"
    digest = OciLayout(fixture_layout_copy).resolve("single").digest
    assert not default_log(data_home).exists()

    first = sign(ref, key, "--reference-name", NAME)
    assert first.code == 0, first
    directory = default_log(data_home)
    assert f"created the default transparency log in {directory}" in first.stderr  # said once, on first use
    assert "tlog entry created with index: 0 (UUID " in first.stderr and directory.as_uri() in first.stderr
    assert "note:" not in first.stderr
    assert stat.S_IMODE((directory / "log.key").stat().st_mode) == 0o600  # tlog init's code made it
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    second = sign(ref, key, "--reference-name", NAME, "--format", "bundle")
    assert second.code == 0 and "tlog entry created with index: 1" in second.stderr
    assert "created the default" not in second.stderr
    assert log_size(directory) == 2

    result = verify(ref, pub)  # no log flags: the default log's key is trusted besides Sigstore's root
    assert result.code == 0, result
    assert "2 of 2 signatures (legacy-tag, referrer)" in result.stderr
    for line in CHECKS:
        assert line in result.stderr
    payloads = json.loads(result.stdout)
    assert [p["critical"]["image"]["docker-manifest-digest"] for p in payloads] == [str(digest)] * 2


def test_sign_then_verify_with_no_log_flags_on_a_registry(registry: RegistryProcess, fixture_layout: Path,
                                                          key_pair: tuple[Path, Path], data_home: Path):
    key, pub = key_pair
    image = f"{registry.host}/default-log/app:1"
    copied = run_cli(["copy", f"oci:{fixture_layout}:multi", image, "--without-referrers"])
    assert copied.code == 0, copied
    result = sign(image, key, "--recursive")
    assert result.code == 0, result
    assert result.stderr.count("tlog entry created with index: ") == 3
    assert sign(image, key, "--format", "bundle").code == 0
    assert log_size(default_log(data_home)) == 4

    result = verify(image, pub, "--check-reference")
    assert result.code == 0, result
    assert "(legacy-tag, referrer)" in result.stderr and CHECKS[1] in result.stderr
    arm64 = OciLayout(fixture_layout).get_manifest("multi").manifests[1]  # type: ignore[union-attr]
    assert verify(f"{registry.host}/default-log/app@{arm64.digest}", pub).code == 0  # --recursive: logged too


def test_default_log_evidence_is_real(fixture_layout_copy: Path, key_pair: tuple[Path, Path], data_home: Path,
                                      tmp_path: Path):
    key, pub = key_pair
    layout = fixture_layout_copy
    single = OciLayout(layout).resolve("single")
    ref = f"oci:{layout}@{single.digest}"
    for fmt in ("legacy", "bundle"):
        assert sign(ref, key, "--reference-name", NAME, "--format", fmt).code == 0
    directory = default_log(data_home)

    # The log's own key, named explicitly (the defaults then play no part), verifies the evidence offline ...
    assert verify(ref, pub, "--rekor-public-key", str(directory / "log.pub")).code == 0
    # ... another log's key does not: it is the default log's key that vouches, nothing else.
    other = LogProcess(tmp_path / "other").init()
    wrong = verify(ref, pub, "--rekor-public-key", str(other.public_key_path))
    assert wrong.code == ExitCode.VERIFICATION_FAILED, wrong
    # The same directory served by `tlog serve` holds the entries: proven online against its current tree.
    served = LogProcess(directory).start(quiet=True)
    try:
        online = verify(ref, pub, "--tlog-online", "--rekor-url", served.url,
                        "--rekor-public-key", str(directory / "log.pub"))
        assert online.code == 0, online
    finally:
        assert served.stop() == 0

    # Tampering with the entry: the bundle's entry with another integratedTime no longer matches its SET.
    tampered = stored_bundle(layout, single)
    entry = tampered["verificationMaterial"]["tlogEntries"][0]
    entry["integratedTime"] = str(int(entry["integratedTime"]) - 3600)
    add_referrer(layout, single, json.dumps(tampered).encode(), replace=True)
    result = verify(ref, pub)
    assert result.code == 0 and "1 of 2 signatures (legacy-tag)" in result.stderr, result  # the bundle fails
    assert len(json.loads(result.stdout)) == 1
    bundle_only = verify(ref, pub, "--rekor-public-key", str(directory / "log.pub"))
    assert "1 of 2 signatures (legacy-tag)" in bundle_only.stderr, bundle_only


def test_tlog_upload_false_logs_nothing(fixture_layout_copy: Path, key_pair: tuple[Path, Path], data_home: Path):
    key, pub = key_pair
    ref = f"oci:{fixture_layout_copy}:single"
    result = sign(ref, key, "--reference-name", NAME, "--tlog-upload=false")
    assert result.code == 0 and "tlog entry" not in result.stderr
    assert not default_log(data_home).exists()
    refused = verify(ref, pub)
    assert refused.code == ExitCode.VERIFICATION_FAILED and "--insecure-ignore-tlog" in refused.stderr
    assert not default_log(data_home).exists()  # verify only reads the default log; it never creates it
    assert verify(ref, pub, "--insecure-ignore-tlog").code == 0


def test_rekor_url_still_names_a_served_log(fixture_layout_copy: Path, key_pair: tuple[Path, Path],
                                            data_home: Path, tlog_server: LogProcess):
    key, pub = key_pair
    ref = f"oci:{fixture_layout_copy}:single"
    with tlog_server.client() as client:
        before = client.log_info().checkpoint.size
    result = sign(ref, key, "--reference-name", NAME, "--rekor-url", tlog_server.url)
    assert result.code == 0, result
    assert f"{tlog_server.url})" in result.stderr
    env = run_cli(["sign", ref, "--key", str(key), "--reference-name", NAME, "--format", "bundle"],
                  env={"SUPPLYCHAIN_PASSWORD": PASSWORD, "SUPPLYCHAIN_REKOR_URL": tlog_server.url})
    assert env.code == 0, env
    with tlog_server.client() as client:
        assert client.log_info().checkpoint.size == before + 2
    assert not default_log(data_home).exists()  # the default log was not used, nor created

    assert verify(ref, pub, "--rekor-public-key", str(tlog_server.public_key_path)).code == 0
    untrusted = verify(ref, pub)  # the served log's key is not among the defaults
    assert untrusted.code == ExitCode.VERIFICATION_FAILED, untrusted


def test_ed25519_legacy_signature_cannot_go_to_the_default_log(fixture_layout_copy: Path, tmp_path: Path,
                                                               data_home: Path):
    prefix = tmp_path / "ed"
    assert run_cli(["generate-key-pair", "--output-key-prefix", str(prefix), "--algorithm", "ed25519"],
                   env={"SUPPLYCHAIN_PASSWORD": PASSWORD}).code == 0
    ref = f"oci:{fixture_layout_copy}:single"
    sign(ref, Path(f"{prefix}.key"), "--reference-name", NAME).assert_one_line_error(ExitCode.INVALID_INPUT,
                                                                                     "Ed25519")
    assert sign(ref, Path(f"{prefix}.key"), "--reference-name", NAME, "--format", "bundle").code == 0
    assert sign(ref, Path(f"{prefix}.key"), "--reference-name", NAME, "--tlog-upload=false").code == 0


def _sign_process(ref: str, key: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "supplychain", "sign", ref, "--key", str(key), "--reference-name", NAME],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "SUPPLYCHAIN_PASSWORD": PASSWORD, "SUPPLYCHAIN_REKOR_URL": ""},
    )


def test_concurrent_signers_take_turns_at_the_default_log(fixture_layout_copy: Path, key_pair: tuple[Path, Path],
                                                          data_home: Path):
    key, pub = key_pair
    amd64, arm64 = OciLayout(fixture_layout_copy).get_manifest("multi").manifests  # type: ignore[union-attr]
    refs = [f"oci:{fixture_layout_copy}@{d.digest}" for d in (amd64, arm64)] * 2  # 4 signers, 2 images
    processes = [_sign_process(ref, key) for ref in refs]
    outcomes = []
    for process in processes:
        with process:
            _, err = process.communicate(timeout=120)
            outcomes.append((process.returncode, err))
    for code, err in outcomes:
        assert code == 0, err
    indexes = sorted(int(err.split("tlog entry created with index: ")[1].split()[0])
                     for _, err in outcomes if "tlog entry created" in err)
    assert indexes == list(range(len(indexes))) and len(indexes) >= 2  # numbered without gaps or repeats
    assert log_size(default_log(data_home)) == len(indexes)
    for ref in refs[:2]:
        assert verify(ref, pub).code == 0


def test_a_served_default_log_is_refused_naming_the_server(fixture_layout_copy: Path, key_pair: tuple[Path, Path],
                                                           data_home: Path):
    key, pub = key_pair
    ref = f"oci:{fixture_layout_copy}:single"
    directory = default_log(data_home)
    served = LogProcess(directory).init().start(quiet=True)
    before = snapshot(fixture_layout_copy)
    try:
        assert served.process is not None
        started = time.monotonic()
        refused = sign(ref, key, "--reference-name", NAME)
        waited = time.monotonic() - started
        refused.assert_one_line_error(ExitCode.UNAVAILABLE, f"in use by process {served.process.pid}")
        assert "--rekor-url" in refused.stderr and str(directory / "log.pub") in refused.stderr  # the way out
        assert waited < 15  # not the full minute concurrent signers may wait
        assert snapshot(fixture_layout_copy) == before  # nothing stored without its log entry
        through = sign(ref, key, "--reference-name", NAME, "--rekor-url", served.url)  # the hint's way works
        assert through.code == 0, through
    finally:
        assert served.stop() == 0
    assert verify(ref, pub).code == 0  # and the default verify trusts what the served default log recorded

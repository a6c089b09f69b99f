"""``supplychain tlog`` through the real entry point and its error boundary, against real log processes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from supplychain.errors import ExitCode
from supplychain.tlog.checkpoint import sign_checkpoint
from supplychain.tlog.merkle import MerkleTree
from supplychain.tlog.server.directory import open_log_directory
from tests.support.fixture import fixture_path
from tests.support.registry import free_port
from tests.support.signatures import CliResult, run_cli
from tests.support.tlog import LogProcess, Signer

pytestmark = pytest.mark.integration
VECTORS = ("vectors", "tlog", "sigstore-python")


def run(*args: str | Path, env: dict[str, str | None] | None = None) -> CliResult:
    return run_cli([str(arg) for arg in args], env={"SUPPLYCHAIN_REKOR_URL": None, **(env or {})})


def assert_one_line_error(result: CliResult, code: int, *fragments: str) -> None:
    assert result.code == code, result
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("error: ") and len(lines) <= 2, lines
    assert all(line.startswith("hint: ") for line in lines[1:])
    for fragment in fragments:
        assert fragment in lines[0], lines


def trust(proc: LogProcess) -> list[str | Path]:
    return ["--url", proc.url, "--rekor-public-key", proc.public_key_path]


def add_entry(proc: LogProcess, artifact: bytes) -> str:
    with proc.client() as client:
        return client.create_hashedrekord(Signer().hashedrekord(artifact)).entry.uuid


@pytest.fixture
def own_log(tmp_path: Path) -> Iterator[LogProcess]:
    proc = LogProcess(tmp_path / "own").init().start(quiet=True)
    yield proc
    proc.stop()


def test_init(tmp_path: Path) -> None:
    result = run("tlog", "init", "--dir", tmp_path / "log", "--key-type", "ed25519", "--name", "log.test")
    assert result.code == 0 and "initialised log 'log.test - " in result.stdout
    assert (tmp_path / "log" / "log.pub").is_file()
    assert_one_line_error(run("tlog", "init", "--dir", tmp_path / "log"), ExitCode.INVALID_INPUT, "already holds a log")


def test_info_get_and_verify(tlog_server: LogProcess, tmp_path: Path) -> None:
    uuid = add_entry(tlog_server, b"cli artifact")
    info = run("tlog", "info", *trust(tlog_server), "-o", "json")
    assert info.code == 0 and json.loads(info.stdout)["treeSize"] >= 1
    text = run("tlog", "get", "--uuid", uuid, *trust(tlog_server))
    assert text.code == 0 and "signed entry timestamp; inclusion in tree of size" in text.stdout
    got = run("tlog", "get", "--uuid", uuid, *trust(tlog_server), "-o", "json")
    assert got.code == 0 and list(json.loads(got.stdout)) == [uuid]
    index = json.loads(got.stdout)[uuid]["logIndex"]
    assert run("tlog", "get", "--index", str(index), *trust(tlog_server), "-o", "json").stdout == got.stdout

    evidence = tmp_path / "entry.json"
    evidence.write_text(got.stdout)
    offline = run("tlog", "verify", "--bundle", evidence, *trust(tlog_server))
    assert offline.code == 0 and f"verified entry {index}" in offline.stdout
    add_entry(tlog_server, b"grow the log")
    online = run("tlog", "verify", "--bundle", evidence, "--online", *trust(tlog_server), "-o", "json")
    assert online.code == 0 and json.loads(online.stdout)[0]["online"] is True
    import hashlib

    digest = "sha256:" + hashlib.sha256(b"cli artifact").hexdigest()
    assert run("tlog", "verify", "--bundle", evidence, "--digest", digest, *trust(tlog_server)).code == 0
    artifact = tmp_path / "artifact"
    artifact.write_bytes(b"another artifact")
    assert_one_line_error(run("tlog", "verify", "--bundle", evidence, "--artifact", artifact, *trust(tlog_server)),
                          ExitCode.VERIFICATION_FAILED, "does not match the artifact")


def test_verify_with_the_wrong_key(tlog_server: LogProcess, own_log: LogProcess, tmp_path: Path) -> None:
    uuid = add_entry(tlog_server, b"whose log?")
    evidence = tmp_path / "entry.json"
    evidence.write_text(run("tlog", "get", "--uuid", uuid, *trust(tlog_server), "-o", "json").stdout)
    assert_one_line_error(run("tlog", "verify", "--bundle", evidence, *trust(own_log)),
                          ExitCode.VERIFICATION_FAILED, "no trusted key for log")


def test_verify_real_bundles_offline(tmp_path: Path) -> None:
    """Production evidence verifies with the sigstore package's root, offline; staging with its trusted root."""
    production = fixture_path(*VECTORS, "bundle_v3_github.whl.sigstore")
    result = run("tlog", "verify", "--bundle", production)
    assert result.code == 0 and "rekor.sigstore.dev - 2605736670972794746" in result.stdout
    staging = ["--trusted-root", fixture_path(*VECTORS, "trusted_root.staging.json")]
    assert run("tlog", "verify", "--bundle", fixture_path(*VECTORS, "a.dsse.staging-rekor-v2.txt.sigstore.json"),
               *staging).code == 0
    # A Rekor v2 entry carries no SET: without a signed time its key (log2025-alpha1, retired 2025-09-04) is
    # checked against now, and the unsigned integratedTime is never trusted.
    assert_one_line_error(
        run("tlog", "verify", "--bundle", fixture_path(*VECTORS, "staging-rekor-v2.txt.sigstore.json"), *staging),
        ExitCode.VERIFICATION_FAILED, "no signed integration time")
    assert_one_line_error(run("tlog", "verify", "--bundle", fixture_path(*VECTORS, "bundle_v3.txt.sigstore")),
                          ExitCode.VERIFICATION_FAILED, "no trusted key")
    tampered = tmp_path / "tampered.sigstore"
    tampered.write_text(production.read_text().replace('"integratedTime": "', '"integratedTime": "1'))
    assert_one_line_error(run("tlog", "verify", "--bundle", tampered), ExitCode.VERIFICATION_FAILED)


def test_get_errors(tlog_server: LogProcess) -> None:
    assert run("tlog", "get", *trust(tlog_server)).code == ExitCode.USAGE
    assert run("tlog", "get", "--uuid", "ab" * 32, "--index", "1", *trust(tlog_server)).code == ExitCode.USAGE
    assert_one_line_error(run("tlog", "get", "--index", "99999999", *trust(tlog_server)), ExitCode.NOT_FOUND)
    assert_one_line_error(run("tlog", "get", "--index", "-1", *trust(tlog_server)), ExitCode.INVALID_INPUT, "negative")
    dead = ["--url", f"http://127.0.0.1:{free_port()}", "--rekor-public-key", tlog_server.public_key_path]
    assert_one_line_error(run("tlog", "get", "--index", "0", *dead), ExitCode.UNAVAILABLE, "refused")
    assert_one_line_error(run("tlog", "info", "--url", tlog_server.url), ExitCode.INVALID_INPUT,
                          "no key for the transparency log")


def forge_state(proc: LogProcess, state: Path, leaves: list[bytes]) -> None:
    """Overwrite the monitor state with a checkpoint the log's own key signed for another tree (a split view)."""
    directory = open_log_directory(proc.directory)
    tree = MerkleTree.from_entries(leaves)
    document = json.loads(state.read_text())
    document.update(checkpoint=sign_checkpoint(directory.config.origin, tree.size, tree.root(), directory.signer()),
                    treeSize=tree.size, rootHash=tree.root().hex())
    state.write_text(json.dumps(document))


def test_monitor(own_log: LogProcess, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    add_entry(own_log, b"m1")
    first = run("tlog", "monitor", "--state", state, *trust(own_log))
    assert first.code == 0 and "first checkpoint: size 1" in first.stdout
    add_entry(own_log, b"m2")
    grew = run("tlog", "monitor", "--state", state, *trust(own_log), "-o", "json")
    assert grew.code == 0 and json.loads(grew.stdout)["status"] == "grew"

    good = state.read_text()
    forge_state(own_log, state, [b"x"] * 5)
    assert_one_line_error(run("tlog", "monitor", "--state", state, *trust(own_log)),
                          ExitCode.VERIFICATION_FAILED, "rollback")
    forge_state(own_log, state, [b"a", b"b"])
    assert_one_line_error(run("tlog", "monitor", "--state", state, *trust(own_log)),
                          ExitCode.VERIFICATION_FAILED, "split view")
    forge_state(own_log, state, [b"a"])
    assert_one_line_error(run("tlog", "monitor", "--state", state, *trust(own_log)),
                          ExitCode.VERIFICATION_FAILED, "does not extend")
    state.write_text(good)
    assert run("tlog", "monitor", "--state", state, *trust(own_log)).code == 0


def test_monitor_pointed_at_another_log(tlog_server: LogProcess, own_log: LogProcess, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    assert run("tlog", "monitor", "--state", state, *trust(own_log)).code == 0
    # A user mistake (the wrong --state), not misbehaviour of the log: invalid input.
    mine = open_log_directory(own_log.directory).log_key().log_id_hex
    theirs = open_log_directory(tlog_server.directory).log_key().log_id_hex
    assert_one_line_error(run("tlog", "monitor", "--state", state, *trust(tlog_server)), ExitCode.INVALID_INPUT,
                          f"the state file {state} is for log {mine}, not {theirs}")


# -- QA: exit codes, hints, labels -------------------------------------------------------------------------------


def test_get_input_errors_are_invalid_input(tlog_server: LogProcess) -> None:
    assert_one_line_error(run("tlog", "get", "--uuid", "zz", *trust(tlog_server)), ExitCode.INVALID_INPUT, "'zz'")
    result = run("tlog", "get", "--index", "99999999999999999999999", *trust(tlog_server))
    assert_one_line_error(result, ExitCode.INVALID_INPUT, "out of range")
    assert "upload" not in result.stderr


def test_tls_to_a_plain_log_gets_log_hints(tlog_server: LogProcess) -> None:
    result = run("tlog", "info", "--rekor-url", tlog_server.url.replace("http:", "https:"),
                 "--rekor-public-key", tlog_server.public_key_path)
    assert_one_line_error(result, ExitCode.UNAVAILABLE, "transparency log")
    assert "certs.d" not in result.stderr and "SUPPLYCHAIN_INSECURE_REGISTRIES" not in result.stderr
    assert f"--rekor-url {tlog_server.url}" in result.stderr


def test_init_where_it_cannot_write(tmp_path: Path) -> None:
    result = run("tlog", "init", "--dir", "/proc/nope")
    assert_one_line_error(result, ExitCode.INVALID_INPUT, "cannot create /proc/nope")
    assert "tlog init" not in result.stderr.splitlines()[1] and "writable" in result.stderr


def test_init_help_says_what_the_name_is_for() -> None:
    result = run("tlog", "init", "--help")
    assert "[default: 127.0.0.1]" in result.stdout and "baseUrl" in result.stdout


def test_serve_help_documents_the_clean_exit() -> None:
    assert "exits 0" in " ".join(run("tlog", "serve", "--help").stdout.split())


def test_credentials_in_the_url_are_never_shown(tlog_server: LogProcess, tmp_path: Path) -> None:
    secret = tlog_server.url.replace("http://", "http://alice:s3cret@")
    trusted = ["--rekor-url", secret, "--rekor-public-key", tlog_server.public_key_path]
    missing = run("tlog", "get", "--uuid", "ab" * 32, *trusted)
    assert_one_line_error(missing, ExitCode.NOT_FOUND, f"at {tlog_server.url}")
    assert "s3cret" not in missing.stderr and "alice" not in missing.stderr
    state = tmp_path / "state.json"
    watched = run("tlog", "monitor", "--state", state, *trusted)
    assert watched.code == 0 and "s3cret" not in watched.stdout + watched.stderr
    assert "s3cret" not in state.read_text() and json.loads(state.read_text())["url"] == tlog_server.url
    remote = run("tlog", "info", "--rekor-url", "http://alice:s3cret@log.example.test", "--rekor-public-key",
                 tlog_server.public_key_path, env={"SUPPLYCHAIN_INSECURE_REGISTRIES": "log.example.test"})
    assert_one_line_error(remote, ExitCode.INTEGRITY, "credentials", "plain HTTP")
    assert "s3cret" not in remote.stderr


def test_a_key_file_without_a_url_is_labelled_by_its_file(tlog_server: LogProcess, own_log: LogProcess,
                                                          tmp_path: Path) -> None:
    uuid = add_entry(tlog_server, b"labelled")
    evidence = tmp_path / "entry.json"
    evidence.write_text(run("tlog", "get", "--uuid", uuid, *trust(tlog_server), "-o", "json").stdout)
    wrong = run("tlog", "verify", "--bundle", evidence, "--rekor-public-key", own_log.public_key_path)
    assert_one_line_error(wrong, ExitCode.VERIFICATION_FAILED, f"(key file {own_log.public_key_path})")
    assert "rekor.sigstore.dev" not in wrong.stderr
    right = run("tlog", "verify", "--bundle", evidence, "--rekor-public-key", tlog_server.public_key_path, "-o", "json")
    (verdict,) = json.loads(right.stdout)
    assert right.code == 0 and verdict["ok"] is True
    assert verdict["log"] is None and verdict["keySource"] == str(tlog_server.public_key_path)
    named = run("tlog", "verify", "--bundle", evidence, *trust(tlog_server), "-o", "json")
    assert json.loads(named.stdout)[0]["log"] == tlog_server.url


def test_verify_failures_are_verdicts(tlog_server: LogProcess, tmp_path: Path) -> None:
    uuid = add_entry(tlog_server, b"the real artifact")
    evidence = tmp_path / "entry.json"
    evidence.write_text(run("tlog", "get", "--uuid", uuid, *trust(tlog_server), "-o", "json").stdout)
    other = "sha256:" + "00" * 32
    text = run("tlog", "verify", "--bundle", evidence, "--digest", other, *trust(tlog_server))
    assert_one_line_error(text, ExitCode.VERIFICATION_FAILED, "does not match the artifact")
    assert text.stderr.splitlines()[1].startswith("hint: ") and "--digest" in text.stderr.splitlines()[1]
    as_json = run("tlog", "verify", "--bundle", evidence, "--digest", other, *trust(tlog_server), "-o", "json")
    assert as_json.code == ExitCode.VERIFICATION_FAILED
    (verdict,) = json.loads(as_json.stdout)
    assert verdict["ok"] is False and verdict["uuid"] == uuid and "does not match the artifact" in verdict["error"]


@pytest.mark.parametrize(("content", "fragment"), [(b"", "is empty"), (b"  \n", "is empty"),
                                                   (b"<html>", "is not JSON"), (b"{", "is not JSON")])
def test_unusable_bundle_files_are_invalid_input(tlog_server: LogProcess, tmp_path: Path, content: bytes,
                                                 fragment: str) -> None:
    bundle = tmp_path / "bundle.json"
    bundle.write_bytes(content)
    assert_one_line_error(run("tlog", "verify", "--bundle", bundle, *trust(tlog_server)), ExitCode.INVALID_INPUT,
                          fragment)


def test_huge_bundle_files_are_refused_unread(tlog_server: LogProcess, tmp_path: Path) -> None:
    bundle = tmp_path / "huge.json"
    with bundle.open("wb") as handle:
        handle.truncate(300 << 20)  # sparse: 300 MB that take no disk
    assert_one_line_error(run("tlog", "verify", "--bundle", bundle, *trust(tlog_server)), ExitCode.INTEGRITY,
                          "16 MiB")

"""The local log as a real process (``supplychain tlog serve``) driven by RekorClient and raw HTTP."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from supplychain.digest import Digest
from supplychain.errors import ExitCode, InvalidInputError
from supplychain.formats.intoto import build_statement
from supplychain.tlog.client import EntryNotFoundError, RekorRejectedError
from supplychain.tlog.server.http import MAX_BODY_BYTES
from tests.support.registry import free_port
from tests.support.signatures import new_key
from tests.support.sigstore_js import run_node, sign_bundle, write_node_key
from tests.support.tlog import REPO, LogProcess, Signer, run_serve, statement

pytestmark = pytest.mark.integration
ENTRIES = "/api/v1/log/entries"


def test_hashedrekord_round_trip(tlog_server: LogProcess) -> None:
    signer = Signer()
    with tlog_server.client() as client:
        created = client.create_hashedrekord(signer.hashedrekord(b"integration artifact"))
        assert created.created and created.verification.timestamp_verified
        by_uuid = client.get_entry(created.entry.uuid)
        by_index = client.get_entry_by_index(created.entry.log_index)
        assert by_uuid.entry.entry == by_index.entry.entry == created.entry.entry
        digest = hashlib.sha256(b"integration artifact").hexdigest()
        assert created.entry.uuid in client.search_by_hash(f"sha256:{digest}")
        info = client.log_info()
        assert info.checkpoint.size > created.entry.log_index
        client.prove_consistency(created.verification.checkpoint, info.checkpoint)  # type: ignore[arg-type]


def test_dsse_round_trip(tlog_server: LogProcess) -> None:
    signer = Signer()
    subject = hashlib.sha256(b"dsse subject").hexdigest()
    with tlog_server.client() as client:
        created = client.create_dsse(signer.envelope(statement(subject)), [signer.pem])
        assert created.entry.kind == "dsse"
        assert created.entry.uuid in client.search_by_hash(f"sha256:{subject}")
        assert client.get_entry(created.entry.uuid).entry.entry == created.entry.entry


def test_duplicates_answer_409(tlog_server: LogProcess) -> None:
    proposal = Signer().hashedrekord(b"twice")
    with tlog_server.client() as client:
        first = client.create_hashedrekord(proposal)
        again = client.create_hashedrekord(proposal)
        assert (again.created, again.entry.uuid) == (False, first.entry.uuid)
    response = httpx.post(tlog_server.url + ENTRIES, json=proposal.proposed_entry())
    assert response.status_code == 409
    assert response.headers["Location"] == f"{ENTRIES}/{first.entry.uuid}"


def test_bad_requests(tlog_server: LogProcess) -> None:
    with httpx.Client(base_url=tlog_server.url) as http:
        assert http.post(ENTRIES, content=b"{").status_code == 400
        forged = Signer().hashedrekord(b"x").proposed_entry()
        forged["spec"]["data"]["hash"]["value"] = "11" * 32
        assert http.post(ENTRIES, json=forged).status_code == 400
        assert http.post(ENTRIES, content=b" " * (MAX_BODY_BYTES + 1)).status_code == 413
        assert http.get(ENTRIES, params={"logIndex": "-1"}).status_code == 400
        assert http.get(ENTRIES, params={"logIndex": str(2**64)}).status_code == 400
        assert http.get(ENTRIES, params={"logIndex": str(2**62)}).status_code == 404
        assert http.get("/api/v1/log/proof", params={"firstSize": 0, "lastSize": 1}).status_code == 400
    with tlog_server.client() as client:
        with pytest.raises(EntryNotFoundError):
            client.get_entry_by_index(2**62)
        with pytest.raises(InvalidInputError):
            client.consistency_proof(0, 1)
        forged_record = Signer().hashedrekord(b"y")
        wrong = type(forged_record)("sha256", bytes(32), forged_record.signature, forged_record.public_key)
        with pytest.raises(RekorRejectedError):
            client.create_hashedrekord(wrong)


def test_ed25519_log_and_clean_stop(tmp_path: Path) -> None:
    proc = LogProcess(tmp_path / "ed-log", key_type="ed25519").init().start()
    try:
        with proc.client() as client:
            created = client.create_hashedrekord(Signer().hashedrekord(b"ed25519-logged"))
            assert created.verification.checkpoint is not None
            assert client.get_entry(created.entry.uuid).verification.timestamp_verified
    finally:
        status = proc.stop()
    assert status == 0
    log = proc.stderr_path.read_text()
    assert '"POST /api/v1/log/entries" 201' in log and "stopped" in log
    restarted = proc.start()
    try:
        with restarted.client() as client:
            assert client.log_info().checkpoint.size == 1
    finally:
        restarted.stop()


def test_public_key_endpoint_matches_the_file(tlog_server: LogProcess) -> None:
    with tlog_server.client() as client:
        assert client.public_key() == tlog_server.keyring.logs[0].key
    config = json.loads((tlog_server.directory / "config.json").read_text())
    with tlog_server.client() as client:
        assert client.log_info().tree_id == config["treeID"]


# -- one server per log, and where it may listen -----------------------------------------------------------------


def assert_one_line_failure(result: subprocess.CompletedProcess[str], code: int, *fragments: str) -> str:
    """The process failed with ``code`` and one ``error:`` line (and at most one ``hint:``) on stderr."""
    assert result.returncode == code, result
    lines = [line for line in result.stderr.splitlines() if line.startswith(("error: ", "hint: "))]
    assert "Traceback" not in result.stderr and lines and lines[0].startswith("error: ") and len(lines) <= 2, result
    assert "internal error" not in lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return "\n".join(lines)


def test_a_second_server_on_the_same_directory_refuses_to_start(tlog_server: LogProcess) -> None:
    assert tlog_server.process is not None
    second = run_serve(tlog_server.directory, f"127.0.0.1:{free_port()}")
    assert_one_line_failure(second, ExitCode.UNAVAILABLE, str(tlog_server.directory),
                            f"process {tlog_server.process.pid}")
    with tlog_server.client() as client:  # the first one is unharmed
        assert client.log_info().checkpoint.size >= 0


def test_the_lock_goes_with_the_server(tmp_path: Path) -> None:
    proc = LogProcess(tmp_path / "log").init().start(quiet=True)
    proc.kill()  # even a crash releases it (the kernel drops the flock)
    restarted = proc.start(quiet=True)
    assert restarted.stop() == 0


def test_bind_errors_are_one_line(tlog_server: LogProcess, tmp_path: Path) -> None:
    directory = LogProcess(tmp_path / "log").init().directory
    in_use = run_serve(directory, f"127.0.0.1:{tlog_server.port}")
    hints = assert_one_line_failure(in_use, ExitCode.UNAVAILABLE, "already in use")
    assert "another port" in hints
    not_here = run_serve(directory, "10.1.2.3:0")
    assert_one_line_failure(not_here, ExitCode.UNAVAILABLE, "10.1.2.3 is not an address of this machine")
    no_such_host = run_serve(directory, "nosuchhost.invalid:0")
    assert_one_line_failure(no_such_host, ExitCode.INVALID_INPUT, "nosuchhost.invalid")
    for malformed in ("[127.0.0.1]:0", "::1:0", "127.0.0.1", "127.0.0.1:99999"):
        assert_one_line_failure(run_serve(directory, malformed), ExitCode.INVALID_INPUT, "--addr")
    # None of them left the directory locked.
    LogProcess(directory, port=free_port()).start(quiet=True).stop()


def test_serving_on_ipv6(tmp_path: Path) -> None:
    proc = LogProcess(tmp_path / "log", host="::1").init().start()
    try:
        assert proc.url.startswith("http://[::1]:")
        with proc.client() as client:
            created = client.create_hashedrekord(Signer().hashedrekord(b"over IPv6"))
            assert client.get_entry(created.entry.uuid).entry.log_index == 0
        assert f"at {proc.url}" in proc.stderr_path.read_text()
    finally:
        assert proc.stop() == 0


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_stopping_on_request_is_success(tmp_path: Path, stop_signal: int) -> None:
    proc = LogProcess(tmp_path / "log").init().start(quiet=True)
    assert proc.process is not None
    proc.process.send_signal(stop_signal)
    assert proc.process.wait(20) == 0
    proc.stop()
    assert "stopped" in proc.stderr_path.read_text()


def test_deep_json_over_a_real_connection(tlog_server: LogProcess) -> None:
    with httpx.Client(base_url=tlog_server.url, timeout=10) as http:
        for path in ("/api/v1/index/retrieve", "/api/v1/log/entries/retrieve"):
            response = http.post(path, content=b"[" * 60_000)
            assert response.status_code == 400 and response.json()["code"] == 400
        patch = http.patch("/api/v1/log", content=b"{}")
        assert patch.status_code == 405 and patch.json()["code"] == 405
        proposal = json.dumps(Signer().hashedrekord(b"chunked, for real").proposed_entry()).encode()
        created = http.post(ENTRIES, content=iter([proposal[:100], proposal[100:]]))
        assert created.status_code == 201


def test_a_log_whose_key_files_disagree_refuses_to_start(tmp_path: Path) -> None:
    """Issue 8 item 3: a log.pub, log.key or config.json from another log is refused at start, naming the files,
    instead of serving entries that every client holding log.pub refuses (and that ``sign`` would trust on first
    use)."""
    other = LogProcess(tmp_path / "other").init().directory
    other_ed25519 = LogProcess(tmp_path / "other-ed25519", key_type="ed25519").init().directory

    def log_with(**files: Path) -> Path:
        directory = LogProcess(tmp_path / f"log-{len(list(tmp_path.iterdir()))}").init().directory
        for name, source in files.items():
            target = directory / name.replace("_", ".")
            target.write_bytes(source.read_bytes())
            os.chmod(target, 0o600)
        return directory

    swapped_pub = log_with(log_pub=other / "log.pub")
    hints = assert_one_line_failure(run_serve(swapped_pub, f"127.0.0.1:{free_port()}"), ExitCode.INVALID_INPUT,
                                    str(swapped_pub / "log.pub"), f"not the public key of {swapped_pub / 'log.key'}")
    assert "hint: " in hints and "tlog init --dir" in hints and "backup" in hints
    swapped_key = log_with(log_key=other / "log.key")
    assert_one_line_failure(run_serve(swapped_key, f"127.0.0.1:{free_port()}"), ExitCode.INVALID_INPUT,
                            str(swapped_key / "config.json"), "records log ID", "the key is not this log's")
    both = log_with(log_key=other / "log.key", log_pub=other / "log.pub")  # consistent with each other only
    assert_one_line_failure(run_serve(both, f"127.0.0.1:{free_port()}"), ExitCode.INVALID_INPUT, "records log ID")
    other_type = log_with(log_key=other_ed25519 / "log.key", log_pub=other_ed25519 / "log.pub")
    assert_one_line_failure(run_serve(other_type, f"127.0.0.1:{free_port()}"), ExitCode.INVALID_INPUT,
                            "is an ed25519 key", "records keyType ecdsa-p256")
    no_pub = log_with()
    (no_pub / "log.pub").unlink()
    assert_one_line_failure(run_serve(no_pub, f"127.0.0.1:{free_port()}"), ExitCode.INVALID_INPUT,
                            f"cannot read {no_pub / 'log.pub'}")

    # Controls: the untouched log serves and records its log ID; a log made before logID was recorded still serves.
    config = json.loads((other / "config.json").read_text())
    served = LogProcess(other).start(quiet=True)
    try:
        with served.client() as client:
            assert client.public_key().log_id_hex == config["logID"]
    finally:
        assert served.stop() == 0
    legacy = log_with()
    document = json.loads((legacy / "config.json").read_text())
    del document["logID"]
    (legacy / "config.json").write_text(json.dumps(document))
    assert LogProcess(legacy).start(quiet=True).stop() == 0


# -- concurrent appenders (issue 10, item 5: group commit) ------------------------------------------------------

APPENDER = """
import json, sys
from tests.support.tlog import LogProcess, Signer
from pathlib import Path
proc = LogProcess(Path(sys.argv[1]), port=int(sys.argv[2]))
signer = Signer()
done = []
with proc.client() as client:
    for n in range(int(sys.argv[4])):
        created = client.create_hashedrekord(signer.hashedrekord(f"{sys.argv[3]} {n}".encode()))
        done.append([created.entry.uuid, created.entry.log_index, created.verification.checkpoint.size])
print(json.dumps(done))
"""


def test_concurrent_processes_get_consecutive_indexes_and_proofs_that_verify(
    sigstore_js: Path, tmp_path: Path
) -> None:
    """Client processes and sigstore-js signers append at once: every entry gets its own index, the indexes run
    0..n-1 without a gap, and every answer carries a SET and an inclusion proof that verify (our client checks
    them on each answer; sigstore-js checks its bundles' entries, SET, proof and checkpoint, offline)."""
    proc = LogProcess(tmp_path / "log").init().start(quiet=True)
    processes, per_process, signers = 6, 25, 3
    try:
        with proc.client() as client:  # sigstore-js bundles leave out a logIndex of 0 (protojson): take it first
            client.create_hashedrekord(Signer().hashedrekord(b"entry 0"))
        appenders = [
            subprocess.Popen([sys.executable, "-c", APPENDER, str(proc.directory), str(proc.port), f"process {p}",
                              str(per_process)], stdout=subprocess.PIPE, cwd=REPO)
            for p in range(processes)
        ]
        bundles: dict[int, tuple[dict, Path]] = {}

        def sign_with_node(n: int) -> None:
            directory = tmp_path / f"node-{n}"
            directory.mkdir()
            statement = directory / "statement.json"
            statement.write_bytes(build_statement("registry.example/app", Digest.of(b"subject %d" % n)))
            key, public = write_node_key(new_key("ecdsa-p256"), directory)
            bundles[n] = (sign_bundle("dsse", statement, key, public, proc.url), public)

        nodes = [threading.Thread(target=sign_with_node, args=(n,)) for n in range(signers)]
        for thread in nodes:
            thread.start()
        answers = []
        for appender in appenders:
            out, _ = appender.communicate(timeout=120)
            assert appender.returncode == 0
            answers += json.loads(out)
        for thread in nodes:
            thread.join(120)
        assert len(bundles) == signers
        node_indexes = [int(bundle["verificationMaterial"]["tlogEntries"][0]["logIndex"])
                        for bundle, _ in bundles.values()]
        indexes = [index for _, index, _ in answers] + node_indexes
        assert sorted(indexes) == list(range(1, 1 + processes * per_process + signers))
        assert all(size > index for _, index, size in answers)  # each proof is against a tree that holds it
        for n, (bundle, public) in bundles.items():
            path = tmp_path / f"bundle-{n}.json"
            path.write_text(json.dumps(bundle))
            verified = run_node("verify-bundle.js", path, public, proc.public_key_path, proc.url,
                                directory=sigstore_js)
            assert verified.returncode == 0 and json.loads(verified.stdout)["ok"], verified.stdout + verified.stderr
        with proc.client() as client:  # and every acknowledged entry reads back, verified, from the log
            for uuid, index, _ in answers:
                assert client.get_entry(uuid).entry.log_index == index
    finally:
        assert proc.stop() == 0

"""``sign`` and ``verify`` with the transparency log, through the CLI: the local log as a real process
(``supplychain tlog serve``, the ``tlog_server`` fixture), OCI layouts, the containers/image fixtures, and the
command-line bad input (no log, unreachable log, unknown log key, flags that contradict each other).

The registry flows with the log are in ``test_sign_registry.py`` (every auth mode) and ``test_sign_skopeo.py``.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import socket
import threading
from pathlib import Path

import httpx
import pytest

from supplychain.errors import ExitCode
from supplychain.layout import OciLayout
from supplychain.verify import TLOG_IGNORED_WARNING
from tests.support.signatures import CONTAINERS_FIXTURES, CliResult, generate_cli_key_pair, load_cosign_fixture, run_cli
from tests.support.tlog import LogProcess

pytestmark = pytest.mark.integration

NAME = "registry.example/team/app"
PASSWORD = "TEST-ONLY-tlog"


def snapshot(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file() and not p.name.startswith(".supplychain")}


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return generate_cli_key_pair(tmp_path_factory.mktemp("tlog-keys") / "cosign", PASSWORD)


def sign(layout: Path, key: Path, *extra: str, env: dict[str, str | None] | None = None) -> CliResult:
    return run_cli(["sign", f"oci:{layout}:single", "--key", str(key), "--reference-name", NAME, *extra],
                   env={"SUPPLYCHAIN_PASSWORD": PASSWORD, "SUPPLYCHAIN_REKOR_URL": None, **(env or {})})


def verify(layout: Path, *extra: str) -> CliResult:
    return run_cli(["verify", f"oci:{layout}:single", *extra], env={"SUPPLYCHAIN_REKOR_URL": None})


def log_trust(log: LogProcess) -> tuple[str, ...]:
    return ("--rekor-url", log.url, "--rekor-public-key", str(log.public_key_path))


def test_sign_with_upload_then_verify_offline_and_online(fixture_layout_copy: Path, key_pair: tuple[Path, Path],
                                                          tlog_server: LogProcess):
    key, pub = key_pair
    for fmt in ("legacy", "bundle"):
        result = sign(fixture_layout_copy, key, "--format", fmt, "--rekor-url", tlog_server.url)
        assert result.code == 0, result
        assert "tlog entry created with index: " in result.stderr and "note:" not in result.stderr

    result = verify(fixture_layout_copy, "--key", str(pub), "--rekor-public-key", str(tlog_server.public_key_path),
                    "-o", "json")
    assert result.code == 0, result
    assert "2 of 2 signatures (legacy-tag, referrer)" in result.stderr
    assert len(json.loads(result.stdout)) == 2

    result = verify(fixture_layout_copy, "--key", str(pub), *log_trust(tlog_server), "--tlog-online")
    assert result.code == 0, result
    assert "  - The claims were present in the transparency log, and its inclusion was proven online" in result.stderr

    # The same image under the default trust (Sigstore's production root): the local log is not trusted.
    result = verify(fixture_layout_copy, "--key", str(pub))
    assert result.code == ExitCode.VERIFICATION_FAILED
    assert "tlog: entry " in result.stderr and "no trusted key for log" in result.stderr

    # A local log's key is needed to trust it, even to ask it online.
    result = verify(fixture_layout_copy, "--key", str(pub), "--rekor-url", tlog_server.url, "--tlog-online")
    result.assert_one_line_error(ExitCode.INVALID_INPUT, f"no key for the transparency log at {tlog_server.url}")

    # The checkpoint the log hands out now covers our entries.
    info = run_cli(["tlog", "info", *log_trust(tlog_server), "-o", "json"])
    assert info.code == 0 and json.loads(info.stdout)["treeSize"] >= 2


def test_tlog_upload_false_logs_nothing_and_verify_needs_the_flag(fixture_layout_copy: Path,
                                                                   key_pair: tuple[Path, Path], data_home: Path):
    """Issue 8.5 changed the default (the embedded local log, ``test_sign_default_log.py``); turning the log off
    is still possible, and then verify needs --insecure-ignore-tlog, as before."""
    key, pub = key_pair
    result = sign(fixture_layout_copy, key, "--tlog-upload=false")
    assert result.code == 0
    assert "tlog entry" not in result.stderr and "note:" not in result.stderr
    assert not (data_home / "supplychain").exists()  # nothing logged, not even the default log created

    result = verify(fixture_layout_copy, "--key", str(pub))
    assert result.code == ExitCode.VERIFICATION_FAILED
    assert "tlog: expected a Rekor bundle in the dev.sigstore.cosign/bundle annotation, got none" in result.stderr
    assert "--insecure-ignore-tlog" in result.stderr

    result = verify(fixture_layout_copy, "--key", str(pub), "--insecure-ignore-tlog")
    assert result.code == 0
    assert result.stderr.splitlines()[0] == TLOG_IGNORED_WARNING
    assert "transparency log" not in result.stderr.partition("\n")[2]  # no log check is claimed

    quiet = sign(fixture_layout_copy, key, "--no-tlog-upload", "-a", "x=y")
    assert quiet.code == 0 and "tlog entry" not in quiet.stderr
    assert not (data_home / "supplychain").exists()


def test_env_names_the_log(fixture_layout_copy: Path, key_pair: tuple[Path, Path], tlog_server: LogProcess):
    result = sign(fixture_layout_copy, key_pair[0], env={"SUPPLYCHAIN_REKOR_URL": tlog_server.url})
    assert result.code == 0 and "tlog entry created with index: " in result.stderr
    skipped = sign(fixture_layout_copy, key_pair[0], "--no-tlog-upload", "-a", "k=v",
                   env={"SUPPLYCHAIN_REKOR_URL": tlog_server.url})
    assert skipped.code == 0 and "tlog entry" not in skipped.stderr


def test_unreachable_log_is_one_line_and_writes_nothing(fixture_layout_copy: Path, key_pair: tuple[Path, Path],
                                                        tlog_server: LogProcess):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    before = snapshot(fixture_layout_copy)
    for trust in ((), ("--rekor-public-key", str(tlog_server.public_key_path))):  # trust on first use, or a key
        for fmt in ("legacy", "bundle"):
            result = sign(fixture_layout_copy, key_pair[0], "--format", fmt, "--rekor-url", dead, *trust)
            result.assert_one_line_error(ExitCode.UNAVAILABLE, "transparency log")
    assert snapshot(fixture_layout_copy) == before


def test_remote_log_without_a_key_and_bad_flags_write_nothing(fixture_layout_copy: Path,
                                                              key_pair: tuple[Path, Path]):
    key, pub = key_pair
    before = snapshot(fixture_layout_copy)
    result = sign(fixture_layout_copy, key, "--rekor-url", "https://rekor.example.test")
    result.assert_one_line_error(ExitCode.INVALID_INPUT, "no key for the transparency log at https://rekor.example.test")
    ed25519 = fixture_layout_copy.parent / "ed"
    assert run_cli(["generate-key-pair", "--output-key-prefix", str(ed25519), "--algorithm", "ed25519"],
                   env={"SUPPLYCHAIN_PASSWORD": PASSWORD}).code == 0
    sign(fixture_layout_copy, Path(f"{ed25519}.key"), "--rekor-url", "http://127.0.0.1:9").assert_one_line_error(
        ExitCode.INVALID_INPUT, "Ed25519")
    assert snapshot(fixture_layout_copy) == before

    ref = f"oci:{fixture_layout_copy}:single"
    for args in (["--key", str(pub), "--certificate-identity", "a@b.c"], [],
                 ["--key", str(pub), "--tlog-online", "--insecure-ignore-tlog"],
                 ["--certificate-identity", "a@b.c"],  # keyless without an issuer
                 ["--certificate-oidc-issuer", "https://issuer.example"]):  # without an identity
        assert run_cli(["verify", ref, *args]).code == ExitCode.USAGE, args


def test_online_against_a_log_without_the_entry_is_rejected(fixture_layout_copy: Path, key_pair: tuple[Path, Path],
                                                            tlog_server: LogProcess, tmp_path: Path):
    key, pub = key_pair
    assert sign(fixture_layout_copy, key, "--rekor-url", tlog_server.url).code == 0
    other = LogProcess(tmp_path / "other-log").init().start(quiet=True)
    try:
        result = verify(fixture_layout_copy, "--key", str(pub), "--tlog-online", "--rekor-url", other.url,
                        "--rekor-public-key", str(tlog_server.public_key_path),
                        "--rekor-public-key", str(other.public_key_path))
    finally:
        other.stop()
    assert result.code == ExitCode.VERIFICATION_FAILED, result
    assert "tlog: entry " in result.stderr and f"in the transparency log at {other.url}" in result.stderr


# -- the containers/image fixtures through the CLI ------------------------------------------------------------


def fixture_layout_of(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    load_cosign_fixture(OciLayout(path, create=True), name)
    return path


def test_cosign_key_and_rekor_fixture(tmp_path: Path):
    layout = fixture_layout_of(tmp_path, "key-rekor-valid")
    ref = f"oci:{layout}:image"
    good = run_cli(["verify", ref, "--key", str(CONTAINERS_FIXTURES / "cosign2.pub"), "-o", "json"])
    assert good.code == 0, good  # default trust: Sigstore's production root holds the fixture's Rekor key
    (payload,) = json.loads(good.stdout)
    assert payload["optional"]["Bundle"]["Payload"]["logIndex"] == 11608800
    text = run_cli(["verify", ref, "--key", str(CONTAINERS_FIXTURES / "cosign2.pub")])
    assert "  - Existence of the claims in the transparency log was verified offline" in text.stderr
    wrong_log = run_cli(["verify", ref, "--key", str(CONTAINERS_FIXTURES / "cosign2.pub"),
                         "--rekor-public-key", str(CONTAINERS_FIXTURES / "cosign.pub")])
    assert wrong_log.code == ExitCode.VERIFICATION_FAILED and "no trusted key for log" in wrong_log.stderr


def test_cosign_fulcio_and_rekor_fixture(tmp_path: Path):
    layout = fixture_layout_of(tmp_path, "fulcio-rekor-valid")
    base = ["verify", f"oci:{layout}:image", "--ca-roots", str(CONTAINERS_FIXTURES / "fulcio_v1.crt.pem"),
            "--certificate-oidc-issuer", "https://github.com/login/oauth",
            "--rekor-public-key", str(CONTAINERS_FIXTURES / "rekor.pub")]
    good = run_cli([*base, "--certificate-identity", "mitr@redhat.com", "-o", "json"])
    assert good.code == 0, good
    (payload,) = json.loads(good.stdout)
    assert payload["optional"]["Subject"] == "mitr@redhat.com"
    assert payload["optional"]["Issuer"] == "https://github.com/login/oauth"
    text = run_cli([*base, "--certificate-identity-regexp", "@redhat[.]com$"])
    assert text.code == 0, text
    assert ("  - The code-signing certificate was verified using trusted certificate authority certificates"
            in text.stderr)
    bad = run_cli([*base, "--certificate-identity", "this-does-not-match@example.com"])
    assert bad.code == ExitCode.VERIFICATION_FAILED
    assert "certificate: expected identity this-does-not-match@example.com, got mitr@redhat.com" in bad.stderr


def test_cosign_byo_pki_fixture(tmp_path: Path):
    layout = fixture_layout_of(tmp_path, "pki-valid")
    result = run_cli(["verify", f"oci:{layout}:image", "--ca-roots", str(CONTAINERS_FIXTURES / "pki_root_crts.pem"),
                      "--ca-intermediates", str(CONTAINERS_FIXTURES / "pki_intermediate_crts.pem"),
                      "--certificate-identity", "qiwan@redhat.com", "--insecure-ignore-tlog"])
    assert result.code == 0, result
    assert result.stderr.startswith(TLOG_IGNORED_WARNING)


@pytest.mark.parametrize("fmt", ["legacy", "bundle"])
@pytest.mark.parametrize("option", ["--output-signature", "--output-payload"])
def test_unwritable_output_file_is_refused_before_the_log_and_the_store(
    fixture_layout_copy: Path, key_pair: tuple[Path, Path], tlog_server: LogProcess, tmp_path: Path, fmt: str,
    option: str,
):
    before = snapshot(fixture_layout_copy)
    tree_size = httpx.get(f"{tlog_server.url}/api/v1/log", timeout=10).json()["treeSize"]
    result = sign(fixture_layout_copy, key_pair[0], "--format", fmt, "--rekor-url", tlog_server.url,
                  option, str(tmp_path / "nonexistent" / "dir" / "sig"))
    result.assert_one_line_error(ExitCode.INVALID_INPUT, option, "does not exist", "nothing was signed")
    assert "tlog entry created" not in result.stderr and "Pushed" not in result.stderr
    assert snapshot(fixture_layout_copy) == before
    assert httpx.get(f"{tlog_server.url}/api/v1/log", timeout=10).json()["treeSize"] == tree_size


@pytest.mark.parametrize(("flags", "logged"), [
    ((), True),
    (("--tlog-upload",), True),
    (("--tlog-upload=true",), True),
    (("--tlog-upload=1",), True),
    (("--tlog-upload=false",), False),
    (("--tlog-upload=False",), False),
    (("--no-tlog-upload",), False),
    (("--tlog-upload", "--tlog-upload=false"), False),  # the last spelling wins, as in Go
    (("--tlog-upload=false", "--tlog-upload"), True),
])
def test_tlog_upload_spellings(fixture_layout_copy: Path, key_pair: tuple[Path, Path], tlog_server: LogProcess,
                               flags: tuple[str, ...], logged: bool):
    """cosign's Go bool flag takes ``=value``; our ``--no-tlog-upload`` keeps working."""
    result = sign(fixture_layout_copy, key_pair[0], *flags, "-a", f"flags={' '.join(flags)}",
                  "--rekor-url", tlog_server.url)
    assert result.code == 0, result
    assert ("tlog entry created with index: " in result.stderr) == logged
    assert "Pushed signature for" in result.stderr


def test_tlog_upload_true_uses_the_default_log_and_bad_values_are_usage_errors(fixture_layout_copy: Path,
                                                                               key_pair: tuple[Path, Path]):
    before = snapshot(fixture_layout_copy)
    result = sign(fixture_layout_copy, key_pair[0], "--tlog-upload=maybe")
    assert result.code == ExitCode.USAGE and "invalid value 'maybe' for --tlog-upload" in result.stderr
    assert sign(fixture_layout_copy, key_pair[0], "--no-tlog-upload=true").code == ExitCode.USAGE  # not a Go flag
    assert snapshot(fixture_layout_copy) == before
    # Issue 8.5: with no URL, --tlog-upload=true is the embedded default log (it was a usage error: no log).
    result = sign(fixture_layout_copy, key_pair[0], "--tlog-upload=true")
    assert result.code == 0 and "tlog entry created with index: 0" in result.stderr


def test_a_certificate_signature_is_logged_with_its_certificate(fixture_layout_copy: Path, key_pair: tuple[Path, Path],
                                                                tlog_server: LogProcess, tmp_path: Path):
    """BYO PKI with a log (issue 8, item 9): the entry records the certificate, as cosign logs it, so that
    ``verify --certificate-identity`` passes its transparency-log check (which requires exactly that)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    from supplychain.keys import load_public_key_pem

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TEST-ONLY root")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(hours=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([])).issuer_name(ca_name)
            .public_key(load_public_key_pem(key_pair[1].read_bytes()).key).serial_number(2)  # type: ignore[arg-type]
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.RFC822Name("release@example.com")]), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(Encoding.PEM))
    (tmp_path / "root.pem").write_bytes(ca.public_bytes(Encoding.PEM))
    for fmt in ("legacy", "bundle"):
        result = sign(fixture_layout_copy, key_pair[0], "--format", fmt, "--rekor-url", tlog_server.url,
                      "--certificate", str(tmp_path / "leaf.pem"))
        assert result.code == 0, result
    result = verify(fixture_layout_copy, "--certificate-identity", "release@example.com", "--ca-roots",
                    str(tmp_path / "root.pem"), "--rekor-public-key", str(tlog_server.public_key_path))
    assert result.code == 0, result
    assert "2 of 2 signatures" in result.stderr


class _KeySwappingProxy(http.server.ThreadingHTTPServer):
    """A loopback log that forwards to a real ``tlog serve`` but advertises another key at
    ``/api/v1/log/publicKey``: what a log whose ``log.pub`` is not its ``log.key``'s looks like to a client."""

    def __init__(self, upstream: str, advertised: bytes) -> None:
        self.upstream, self.advertised = upstream, advertised
        self.posts = 0
        super().__init__(("127.0.0.1", 0), _KeySwappingHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _KeySwappingHandler(http.server.BaseHTTPRequestHandler):
    server: _KeySwappingProxy

    def do_GET(self) -> None:  # http.server calls it by this name
        if self.path == "/api/v1/log/publicKey":
            self._answer(200, self.server.advertised, "application/x-pem-file")
            return
        real = httpx.get(self.server.upstream + self.path, timeout=10)
        self._answer(real.status_code, real.content, real.headers.get("content-type", "application/json"))

    def do_POST(self) -> None:
        self.server.posts += 1
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        real = httpx.post(self.server.upstream + self.path, content=body, timeout=10,
                          headers={"content-type": "application/json"})
        self._answer(real.status_code, real.content, real.headers.get("content-type", "application/json"))

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


def test_trust_on_first_use_refuses_a_log_signing_with_another_key(fixture_layout_copy: Path,
                                                                   key_pair: tuple[Path, Path], tmp_path: Path):
    """Issue 8 item 3: a loopback log advertising one key and signing with another is not trusted on first use;
    nothing is uploaded to it and nothing is stored."""
    real = LogProcess(tmp_path / "real").init().start(quiet=True)
    other_pub = LogProcess(tmp_path / "other").init().public_key_path.read_bytes()
    proxy = _KeySwappingProxy(real.url, other_pub)
    thread = threading.Thread(target=proxy.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        before = snapshot(fixture_layout_copy)
        for fmt in ("legacy", "bundle"):
            result = sign(fixture_layout_copy, key_pair[0], "--format", fmt, "--rekor-url", proxy.url)
            result.assert_one_line_error(ExitCode.VERIFICATION_FAILED, f"not trusting the log at {proxy.url} on "
                                         "first use", "its checkpoint does not verify with it")
            assert "hint: " in result.stderr and "log.key and log.pub disagree" in result.stderr
        assert proxy.posts == 0 and snapshot(fixture_layout_copy) == before
        assert httpx.get(f"{real.url}/api/v1/log", timeout=10).json()["treeSize"] == 0

        # Control: the same log, advertising its own key, is trusted on first use.
        proxy.advertised = real.public_key_path.read_bytes()
        result = sign(fixture_layout_copy, key_pair[0], "--rekor-url", proxy.url)
        assert result.code == 0, result
        assert proxy.posts == 1 and "tlog entry created with index: 0" in result.stderr
    finally:
        proxy.shutdown()
        thread.join()
        proxy.server_close()
        real.stop()

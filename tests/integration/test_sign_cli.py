"""``sign`` and ``verify`` through the CLI on OCI layouts: cosign-made keys, both formats, output, exit codes,
and the bad-input cases that are about the command line (keys, passwords, flags)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from supplychain.errors import ExitCode
from supplychain.keys import load_public_key_pem
from supplychain.layout import OciLayout
from supplychain.oci.attachment import AttachmentKind, attachment_tag
from supplychain.signing.payload import build_payload
from supplychain.signing.signature import signature_verifies
from supplychain.verify import TLOG_IGNORED_WARNING
from tests.unit.verify.support import KEY_VECTORS, CliResult, run_cli

pytestmark = pytest.mark.integration

NAME = "registry.example/team/app"
POLICY_CONTROLLER_KEYS = KEY_VECTORS / "sigstore-policy-controller" / "examples" / "keys"
COSIGN_KEYS = KEY_VECTORS / "sigstore-cosign" / "pkg" / "cosign" / "keys_test_consts"


def snapshot(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file() and not p.name.startswith(".supplychain")}


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    prefix = tmp_path_factory.mktemp("keys") / "test"
    result = run_cli(["generate-key-pair", "--output-key-prefix", str(prefix)], env={"SUPPLYCHAIN_PASSWORD": "pw"})
    assert result.code == 0, result
    return Path(f"{prefix}.key"), Path(f"{prefix}.pub")


def sign(layout: Path, key: Path, *extra: str, ref: str = "single", password: str = "pw") -> CliResult:
    return run_cli(["sign", f"oci:{layout}:{ref}", "--key", str(key), "--reference-name", NAME, *extra],
                   env={"SUPPLYCHAIN_PASSWORD": password})


def verify(*args: str) -> CliResult:
    """Key-only verify: these signatures are made without a transparency log (``test_sign_tlog.py`` has the
    logged flows), so the log check is skipped. cosign's warning comes first on stderr; it is checked and
    removed here so that the assertions below read the verdict lines."""
    result = run_cli(["verify", *args, "--insecure-ignore-tlog"])
    warning, _, rest = result.stderr.partition("\n")
    if result.code != ExitCode.USAGE and "Traceback" not in result.stderr and "error: " not in warning:
        assert warning == TLOG_IGNORED_WARNING, result
        return CliResult(result.code, result.stdout, rest)
    return result


def test_sign_and_verify_legacy_and_bundle(fixture_layout_copy: Path, key_pair: tuple[Path, Path]):
    key, pub = key_pair
    digest = OciLayout(fixture_layout_copy).resolve("single").digest
    result = sign(fixture_layout_copy, key, "-a", "env=prod")
    assert result.code == 0, result
    assert f"signing {digest} (resolved from tag single)" in result.stderr
    assert "WARNING" in result.stderr and "uses a tag, not a digest" in result.stderr
    result = sign(fixture_layout_copy, key, "--format", "bundle", "-a", "env=prod")
    assert result.code == 0 and "Pushed bundle referrer" in result.stderr

    result = verify(f"oci:{fixture_layout_copy}:single", "--key", str(pub), "-o", "json", "-a", "env=prod")
    assert result.code == 0, result
    payloads = json.loads(result.stdout)
    expected = json.loads(build_payload(NAME, digest, {"env": "prod"}))
    assert payloads == [expected, expected]  # legacy, then the bundle's claims in the same shape
    assert result.stderr.startswith(f"Verified OK oci:{fixture_layout_copy}:single ({digest}")
    assert "2 of 2 signatures (legacy-tag, referrer)" in result.stderr

    result = verify(f"oci:{fixture_layout_copy}@{digest}", "--key", str(pub))
    assert result.code == 0
    assert "The following checks were performed on each of these signatures:" in result.stderr
    assert "  - The cosign claims were validated" in result.stderr
    assert "  - The signatures were verified against the specified public key" in result.stderr
    assert "transparency log" not in result.stderr  # no tlog check is made, none is claimed
    assert [json.loads(line) for line in result.stdout.splitlines()] == [expected, expected]


def test_verify_failure_exit_code_and_reasons(fixture_layout_copy: Path, key_pair: tuple[Path, Path]):
    key, pub = key_pair
    assert sign(fixture_layout_copy, key).code == 0
    result = verify(f"oci:{fixture_layout_copy}:single", f"oci:{fixture_layout_copy}:multi", "--key", str(pub),
                    "-a", "env=prod", "-o", "json")
    assert result.code == ExitCode.VERIFICATION_FAILED
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"Verification FAILED oci:{fixture_layout_copy}:single")
    assert lines[1].endswith("annotations: expected annotation env=prod, got none for env")
    assert lines[2].startswith(f"Verification FAILED oci:{fixture_layout_copy}:multi")
    assert lines[3] == "  - no signatures found"


def test_check_reference_on_a_layout_needs_the_name(fixture_layout_copy: Path, key_pair: tuple[Path, Path]):
    key, pub = key_pair
    assert sign(fixture_layout_copy, key).code == 0
    ref = f"oci:{fixture_layout_copy}:single"
    assert verify(ref, "--key", str(pub), "--check-reference").code == ExitCode.USAGE
    assert verify(ref, "--key", str(pub), "--check-reference", "--reference-name", NAME).code == 0
    other = verify(ref, "--key", str(pub), "--check-reference", "--reference-name", "registry.example/other")
    assert other.code == ExitCode.VERIFICATION_FAILED
    assert "expected a docker-reference naming registry.example/other, got registry.example/team/app" in other.stderr


def test_layout_signing_requires_a_reference_name(fixture_layout_copy: Path, key_pair: tuple[Path, Path]):
    before = snapshot(fixture_layout_copy)
    result = run_cli(["sign", f"oci:{fixture_layout_copy}:single", "--key", str(key_pair[0])],
                     env={"SUPPLYCHAIN_PASSWORD": "pw"})
    result.assert_one_line_error(ExitCode.INVALID_INPUT, "OCI layout")
    assert "--reference-name" in result.stderr
    assert snapshot(fixture_layout_copy) == before


@pytest.mark.parametrize(
    ("key", "password", "pub"),
    [
        (POLICY_CONTROLLER_KEYS / "cosign.key", "", "file:" + str(POLICY_CONTROLLER_KEYS / "cosign.pub")),
        (COSIGN_KEYS / "pemcosignkey.pem", "hello", "expected:pemcosignkey"),
        (COSIGN_KEYS / "pemsigstorekey.pem", "hello", "expected:pemsigstorekey"),
    ],
    ids=["policy-controller-empty-password", "cosign-labelled", "sigstore-labelled"],
)
def test_keys_generated_by_cosign_sign_and_verify(fixture_layout_copy: Path, tmp_path: Path, key: Path,
                                                  password: str, pub: str):
    kind, _, where = pub.partition(":")
    if kind == "file":
        pub_path = Path(where)
    else:  # the public key the vector collector derived from the decrypted key (not made by us)
        expected = json.loads((COSIGN_KEYS / "EXPECTED.json").read_text())
        entry = next(v[where] for v in expected.values() if isinstance(v, dict) and where in v)
        pem = next(value for name, value in entry.items() if name.startswith("derived_public_key_pem"))
        pub_path = tmp_path / "cosign.pub"
        pub_path.write_text(pem)
    for fmt in ("legacy", "bundle"):
        assert sign(fixture_layout_copy, key, "--format", fmt, password=password).code == 0
    result = verify(f"oci:{fixture_layout_copy}:single", "--key", str(pub_path), "-o", "json")
    assert result.code == 0, result
    assert len(json.loads(result.stdout)) == 2


def test_no_upload_writes_only_the_output_files(fixture_layout_copy: Path, key_pair: tuple[Path, Path],
                                                tmp_path: Path):
    key, pub = key_pair
    before = snapshot(fixture_layout_copy)
    sig, payload = tmp_path / "sig.b64", tmp_path / "payload.json"
    result = sign(fixture_layout_copy, key, "--no-upload", "--output-signature", str(sig),
                  "--output-payload", str(payload))
    assert result.code == 0, result
    assert snapshot(fixture_layout_copy) == before
    digest = OciLayout(fixture_layout_copy).resolve("single").digest
    assert payload.read_bytes() == build_payload(NAME, digest)
    public_key = load_public_key_pem(pub.read_bytes())
    assert signature_verifies(public_key, base64.b64decode(sig.read_text()), payload.read_bytes())

    result = sign(fixture_layout_copy, key, "--no-upload", "--format", "bundle", "--output-signature", str(sig))
    assert json.loads(sig.read_text())["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    result = sign(fixture_layout_copy, key, "--no-upload")
    assert base64.b64decode(result.stdout.strip())  # the signature on stdout when no file is named
    assert snapshot(fixture_layout_copy) == before


def test_recursive_signs_the_index_and_its_manifests(fixture_layout_copy: Path, key_pair: tuple[Path, Path]):
    key, pub = key_pair
    result = sign(fixture_layout_copy, key, "--recursive", ref="multi")
    assert result.code == 0
    assert result.stderr.count("Pushed signature for") == 3
    layout = OciLayout(fixture_layout_copy)
    children = [d.digest for d in layout.get_manifest("multi").manifests]  # type: ignore[union-attr]
    refs = [f"oci:{fixture_layout_copy}@{d}" for d in children] + [f"oci:{fixture_layout_copy}:multi"]
    assert verify(*refs, "--key", str(pub)).code == 0
    assert sign(fixture_layout_copy, key, "-r", "--output-payload", "x", ref="multi").code == ExitCode.USAGE


def test_resigning_does_not_add_a_duplicate(fixture_layout_copy: Path, key_pair: tuple[Path, Path]):
    key, _ = key_pair
    assert sign(fixture_layout_copy, key).code == 0
    result = sign(fixture_layout_copy, key)
    assert "Signature already present" in result.stderr
    layout = OciLayout(fixture_layout_copy)
    digest = layout.resolve("single").digest
    assert len(layout.get_manifest(attachment_tag(digest, AttachmentKind.SIGNATURE)).layers) == 1  # type: ignore[union-attr]


# -- bad keys and passwords: one clear line, exit 3, nothing written -------------------------------------


def test_wrong_password(fixture_layout_copy: Path, key_pair: tuple[Path, Path]):
    before = snapshot(fixture_layout_copy)
    sign(fixture_layout_copy, key_pair[0], password="wrong").assert_one_line_error(ExitCode.INVALID_INPUT)
    assert snapshot(fixture_layout_copy) == before


def test_truncated_key_file(fixture_layout_copy: Path, key_pair: tuple[Path, Path], tmp_path: Path):
    truncated = tmp_path / "truncated.key"
    truncated.write_bytes(key_pair[0].read_bytes()[:200])
    before = snapshot(fixture_layout_copy)
    sign(fixture_layout_copy, truncated).assert_one_line_error(ExitCode.INVALID_INPUT)
    truncated_pub = tmp_path / "truncated.pub"
    truncated_pub.write_bytes(key_pair[1].read_bytes()[:60])
    verify(f"oci:{fixture_layout_copy}:single", "--key", str(truncated_pub)).assert_one_line_error(
        ExitCode.INVALID_INPUT)
    assert snapshot(fixture_layout_copy) == before


def test_key_of_an_unsupported_algorithm(fixture_layout_copy: Path):
    sign(fixture_layout_copy, COSIGN_KEYS / "invalidecp224.pem").assert_one_line_error(
        ExitCode.INVALID_INPUT, "P-224")


def test_key_of_another_algorithm_is_a_verdict(fixture_layout_copy: Path, key_pair: tuple[Path, Path],
                                               tmp_path: Path):
    assert sign(fixture_layout_copy, key_pair[0]).code == 0
    rsa_pub = tmp_path / "rsa.pub"
    result = run_cli(["public-key", "--key", str(COSIGN_KEYS / "validrsa.pem"), "--outfile", str(rsa_pub)])
    assert result.code == 0, result
    result = verify(f"oci:{fixture_layout_copy}:single", "--key", str(rsa_pub))
    assert result.code == ExitCode.VERIFICATION_FAILED
    assert "signature: expected a signature over the payload by the given key, got one that does not verify" in (
        result.stderr)


def test_private_key_given_to_verify_and_missing_image(fixture_layout_copy: Path, key_pair: tuple[Path, Path]):
    verify(f"oci:{fixture_layout_copy}:single", "--key", str(key_pair[0])).assert_one_line_error(
        ExitCode.INVALID_INPUT)
    result = verify(f"oci:{fixture_layout_copy}:nope", "--key", str(key_pair[1]))
    result.assert_one_line_error(ExitCode.NOT_FOUND, "nope")
    assert result.stderr.startswith("ERROR ")


def test_bad_annotation_flag(fixture_layout_copy: Path, key_pair: tuple[Path, Path]):
    sign(fixture_layout_copy, key_pair[0], "-a", "novalue").assert_one_line_error(ExitCode.INVALID_INPUT, "novalue")


def test_signing_by_digest_gives_no_warning_and_a_missing_tag_is_not_found(
    fixture_layout_copy: Path, key_pair: tuple[Path, Path]
):
    digest = OciLayout(fixture_layout_copy).resolve("single").digest
    sign(fixture_layout_copy, key_pair[0], ref="missing").assert_one_line_error(ExitCode.NOT_FOUND, "missing")
    result = run_cli(["sign", f"oci:{fixture_layout_copy}@{digest}", "--key", str(key_pair[0]), "--reference-name",
                      NAME], env={"SUPPLYCHAIN_PASSWORD": "pw"})
    assert result.code == 0 and "WARNING" not in result.stderr
    assert f"signing {digest}\n" in result.stderr

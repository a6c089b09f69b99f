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
from tests.support.signatures import KEY_VECTORS, CliResult, generate_cli_key_pair, run_cli

pytestmark = pytest.mark.integration

NAME = "registry.example/team/app"
POLICY_CONTROLLER_KEYS = KEY_VECTORS / "sigstore-policy-controller" / "examples" / "keys"
COSIGN_KEYS = KEY_VECTORS / "sigstore-cosign" / "pkg" / "cosign" / "keys_test_consts"


def snapshot(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file() and not p.name.startswith(".supplychain")}


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return generate_cli_key_pair(tmp_path_factory.mktemp("keys") / "test", "pw")


def sign(layout: Path, key: Path, *extra: str, ref: str = "single", password: str = "pw") -> CliResult:
    return run_cli(["sign", f"oci:{layout}:{ref}", "--key", str(key), "--reference-name", NAME, *extra],
                   env={"SUPPLYCHAIN_PASSWORD": password})


def verify(*args: str) -> CliResult:
    """Key-only verify: the log check is skipped (``test_sign_tlog.py`` and ``test_sign_default_log.py`` have the
    logged flows; these signatures are in the default local log, which is not what is tested here). cosign's
    warning comes first on stderr; it is checked and removed here so that the assertions below read the verdict
    lines."""
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

    result = verify(f"oci:{fixture_layout_copy}@{digest}", "--key", str(pub), "-o", "text")
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
    assert result.stdout == "[]\n[]\n"  # several images: one line each, [] for a failed one
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

    result = sign(fixture_layout_copy, key, "--upload=false", "--format", "bundle", "--output-signature", str(sig))
    assert json.loads(sig.read_text())["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    result = sign(fixture_layout_copy, key, "--no-upload")
    assert base64.b64decode(result.stdout.strip())  # the signature on stdout when no file is named
    assert snapshot(fixture_layout_copy) == before


def test_output_files_are_checked_before_signing_and_written_atomically(
    fixture_layout_copy: Path, key_pair: tuple[Path, Path], tmp_path: Path
):
    key = key_pair[0]
    before = snapshot(fixture_layout_copy)
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    cases = [
        (str(tmp_path / "nonexistent" / "dir" / "sig"), "does not exist"),
        (str(a_file / "sig"), "is not a directory"),
    ]
    for path, fragment in cases:
        for option in ("--output-signature", "--output-payload"):
            result = sign(fixture_layout_copy, key, option, path)
            result.assert_one_line_error(ExitCode.INVALID_INPUT, option, fragment, "nothing was signed")
            assert "Pushed" not in result.stderr
    same = str(tmp_path / "same")
    result = sign(fixture_layout_copy, key, "--output-signature", same, "--output-payload", same)
    assert result.code == ExitCode.USAGE and "name the same file" in result.stderr
    assert sign(fixture_layout_copy, key, "--output-signature", str(tmp_path)).code == ExitCode.USAGE  # a directory
    assert snapshot(fixture_layout_copy) == before  # nothing stored by any of them

    sig = tmp_path / "out" / "sig"
    sig.parent.mkdir()
    result = sign(fixture_layout_copy, key, "--output-signature", str(sig))
    assert result.code == 0, result
    assert base64.b64decode(sig.read_text()) and sorted(p.name for p in sig.parent.iterdir()) == ["sig"]


@pytest.mark.parametrize("flags", [("-y",), ("--yes",), ("--yes=true",), ("--yes=false",), ("-y=1",),
                                   ("-y", "--upload=true")])
def test_sign_accepts_cosigns_yes(fixture_layout_copy: Path, key_pair: tuple[Path, Path], flags: tuple[str, ...]):
    result = sign(fixture_layout_copy, key_pair[0], *flags)
    assert result.code == 0, result
    assert "Pushed signature for" in result.stderr


def test_sign_help_reads_well():
    result = run_cli(["sign", "--help"])
    assert result.code == 0
    assert "-y, --yes[=true|false]" in result.stdout and "sign never prompts" in result.stdout
    assert "--tlog-upload[=true|false]" in result.stdout and "--no-tlog-upload" in result.stdout
    assert "--upload[=true|false] / --no-upload" in result.stdout  # ours, kept in view
    assert " / --no-tlog-upload" not in result.stdout and "--no-yes" not in result.stdout  # hidden negatives


@pytest.mark.parametrize(("flags", "ignored"), [
    (("--insecure-ignore-tlog",), True),
    (("--insecure-ignore-tlog=true",), True),
    (("--insecure-ignore-tlog=TRUE",), True),
    (("--insecure-ignore-tlog=false",), False),
    (("--no-insecure-ignore-tlog",), False),
    (("--insecure-ignore-tlog", "--insecure-ignore-tlog=0"), False),  # the last spelling wins, as in Go
])
@pytest.mark.parametrize("where", ["before", "after"])
def test_insecure_ignore_tlog_spellings(fixture_layout_copy: Path, key_pair: tuple[Path, Path],
                                        flags: tuple[str, ...], ignored: bool, where: str):
    """The flag never takes the next argument as its value: ``verify --insecure-ignore-tlog IMAGE`` works."""
    # Without a log (not the default since issue 8.5): verifies only when the log is ignored.
    assert sign(fixture_layout_copy, key_pair[0], "--tlog-upload=false").code == 0
    ref = f"oci:{fixture_layout_copy}:single"
    args = [*flags, ref, "--key", str(key_pair[1])] if where == "before" else [ref, "--key", str(key_pair[1]), *flags]
    result = run_cli(["verify", *args])
    assert result.code == (0 if ignored else ExitCode.VERIFICATION_FAILED), result
    assert result.stderr.startswith(TLOG_IGNORED_WARNING) == ignored


@pytest.mark.parametrize(("flags", "checked"), [
    ((), True),
    (("--check-claims",), True),
    (("--check-claims=true",), True),
    (("--check-claims=false",), False),
    (("--check-claims=f",), False),
    (("--no-check-claims",), False),
])
def test_check_claims_spellings(fixture_layout_copy: Path, key_pair: tuple[Path, Path], flags: tuple[str, ...],
                                checked: bool):
    assert sign(fixture_layout_copy, key_pair[0]).code == 0
    result = verify(*flags, f"oci:{fixture_layout_copy}:single", "--key", str(key_pair[1]))
    assert result.code == 0, result
    assert ("  - The cosign claims were validated" in result.stderr) == checked


def test_go_bool_values_are_checked_and_option_values_left_alone(fixture_layout_copy: Path,
                                                                 key_pair: tuple[Path, Path]):
    assert sign(fixture_layout_copy, key_pair[0]).code == 0
    ref = f"oci:{fixture_layout_copy}:single"
    bad = run_cli(["verify", ref, "--key", str(key_pair[1]), "--check-claims=maybe"])
    assert bad.code == ExitCode.USAGE and "invalid value 'maybe' for --check-claims" in bad.stderr
    # The value of -a is an annotation, even when it looks like a flag: required, and absent, so a verdict.
    result = verify(ref, "--key", str(key_pair[1]), "-a", "--check-claims=false")
    assert result.code == ExitCode.VERIFICATION_FAILED, result
    assert "expected annotation --check-claims=false" in result.stderr
    help_text = run_cli(["verify", "--help"]).stdout
    assert "--insecure-ignore-tlog[=true|false]" in help_text and "--check-claims[=true|false]" in help_text
    assert "--no-insecure-ignore-tlog" not in help_text and " / --no-check-claims" not in help_text


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


def test_no_password_names_only_what_sign_offers(fixture_layout_copy: Path, key_pair: tuple[Path, Path]):
    """``sign`` has no --password-stdin: without a password variable or a terminal, it must not suggest one."""
    before = snapshot(fixture_layout_copy)
    result = run_cli(["sign", f"oci:{fixture_layout_copy}:single", "--key", str(key_pair[0]), "--reference-name",
                      NAME])  # no password variable; CliRunner's stdin is not a terminal
    result.assert_one_line_error(
        ExitCode.INVALID_INPUT, "no password: set SUPPLYCHAIN_PASSWORD (or COSIGN_PASSWORD) or run in a terminal")
    assert "--password-stdin" not in result.stderr
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
    assert result.stderr.startswith("error: ") and "ERROR " not in result.stderr  # said once, as cosign does


def test_verify_json_has_one_line_per_image_in_argument_order(fixture_layout_copy: Path,
                                                               key_pair: tuple[Path, Path]):
    key, pub = key_pair
    assert sign(fixture_layout_copy, key).code == 0
    digest = OciLayout(fixture_layout_copy).resolve("single").digest
    good, unsigned, missing = (f"oci:{fixture_layout_copy}:{tag}" for tag in ("single", "multi", "nope"))
    expected = [json.loads(build_payload(NAME, digest))]

    result = verify(unsigned, good, "--key", str(pub), "-o", "json")
    assert result.code == ExitCode.VERIFICATION_FAILED
    assert [json.loads(line) for line in result.stdout.splitlines()] == [[], expected]

    result = verify(missing, good, unsigned, good, "--key", str(pub), "-o", "json", "--concurrency", "4")
    assert [json.loads(line) for line in result.stdout.splitlines()] == [[], expected, [], expected]
    # The image that could not be answered: its ERROR line, then one summary line, with its exit status.
    result.assert_one_line_error(ExitCode.NOT_FOUND, "1 of 4 images could not be checked at all")
    assert result.stderr.startswith(f"ERROR {missing}: tag 'nope' not found")
    assert result.stderr.count("not found") == 1  # said once
    assert f"Verification FAILED {unsigned}" in result.stderr

    result = verify(unsigned, "--key", str(pub), "-o", "json")  # one image: cosign's shape, no line when failed
    assert result.code == ExitCode.VERIFICATION_FAILED and result.stdout == ""
    result = verify(good, "--key", str(pub), "-o", "json")
    assert result.code == 0 and [json.loads(line) for line in result.stdout.splitlines()] == [expected]


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


# -- key references and formats (issue 8, items 7, 14, 16) -------------------------------------------------------


def test_sign_and_verify_with_keys_in_environment_variables(fixture_layout_copy: Path, key_pair: tuple[Path, Path]):
    key, pub = key_pair
    ref = f"oci:{fixture_layout_copy}:single"
    result = run_cli(["sign", ref, "--key", "env://COSIGN_PRIVATE_KEY", "--reference-name", NAME],
                     env={"COSIGN_PRIVATE_KEY": key.read_text(), "COSIGN_PASSWORD": "pw"})
    assert result.code == 0, result
    result = run_cli(["verify", ref, "--key", "env://COSIGN_PUBLIC_KEY", "--insecure-ignore-tlog"],
                     env={"COSIGN_PUBLIC_KEY": pub.read_text()})
    assert result.code == 0, result
    assert "Verified OK" in result.stderr
    missing = run_cli(["verify", ref, "--key", "env://COSIGN_PUBLIC_KEY", "--insecure-ignore-tlog"])
    missing.assert_one_line_error(ExitCode.INVALID_INPUT, "environment variable COSIGN_PUBLIC_KEY is not set")
    before = snapshot(fixture_layout_copy)
    empty = run_cli(["sign", ref, "--key", "env://COSIGN_PRIVATE_KEY", "--reference-name", NAME],
                    env={"COSIGN_PRIVATE_KEY": "", "COSIGN_PASSWORD": "pw"})
    empty.assert_one_line_error(ExitCode.INVALID_INPUT, "environment variable COSIGN_PRIVATE_KEY is empty")
    assert snapshot(fixture_layout_copy) == before


def test_pkcs1_rsa_public_key_verifies_a_real_rsa_signature(fixture_layout_copy: Path, tmp_path: Path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(65537, 2048)
    key = tmp_path / "rsa.key"
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    pkcs1 = tmp_path / "rsa-pkcs1.pub"
    pkcs1.write_bytes(private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1))
    assert pkcs1.read_bytes().startswith(b"-----BEGIN RSA PUBLIC KEY-----")
    assert sign(fixture_layout_copy, key).code == 0
    result = verify(f"oci:{fixture_layout_copy}:single", "--key", str(pkcs1))
    assert result.code == 0, result
    other = rsa.generate_private_key(65537, 2048).public_key()  # control: another RSA key is a "no"
    (tmp_path / "other.pub").write_bytes(other.public_bytes(serialization.Encoding.PEM,
                                                            serialization.PublicFormat.PKCS1))
    assert verify(f"oci:{fixture_layout_copy}:single", "--key", str(tmp_path / "other.pub")).code == (
        ExitCode.VERIFICATION_FAILED)


def test_a_private_key_given_to_verify_is_named_with_the_public_key_formats(fixture_layout_copy: Path,
                                                                            key_pair: tuple[Path, Path]):
    result = verify(f"oci:{fixture_layout_copy}:single", "--key", str(key_pair[0]))
    result.assert_one_line_error(ExitCode.INVALID_INPUT, f"key file {key_pair[0]}: expected a PUBLIC KEY PEM")
    hint = result.stderr.splitlines()[-1]
    assert hint.startswith("hint: ") and "RSA PUBLIC KEY" in hint and "PKCS#8" not in hint, hint


@pytest.mark.parametrize("url", ["rekor.example", "127.0.0.1:3000"])
def test_a_rekor_url_without_a_scheme_says_so_not_no_key(fixture_layout_copy: Path, key_pair: tuple[Path, Path],
                                                         url: str):
    before = snapshot(fixture_layout_copy)
    ref = f"oci:{fixture_layout_copy}:single"
    for result in (sign(fixture_layout_copy, key_pair[0], "--rekor-url", url),
                   run_cli(["verify", ref, "--key", str(key_pair[1]), "--rekor-url", url]),
                   run_cli(["tlog", "info", "--rekor-url", url])):
        result.assert_one_line_error(ExitCode.INVALID_INPUT, f"transparency log URL {url!r} has no scheme",
                                     "needs http:// or https://")
        assert "no key" not in result.stderr
    assert snapshot(fixture_layout_copy) == before
    control = run_cli(["verify", ref, "--key", str(key_pair[1]), "--rekor-url", "https://rekor.example"])
    control.assert_one_line_error(ExitCode.INVALID_INPUT, "no key for the transparency log")


# -- several images in one call (issue 8, item 8) -----------------------------------------------------------------


def test_sign_several_images_one_line_each(fixture_layout_copy: Path, key_pair: tuple[Path, Path]):
    key, pub = key_pair
    layout = OciLayout(fixture_layout_copy)
    single, multi = layout.resolve("single").digest, layout.resolve("multi").digest
    refs = [f"oci:{fixture_layout_copy}:single", f"oci:{fixture_layout_copy}@{multi}"]
    result = run_cli(["sign", *refs, "--key", str(key), "--reference-name", NAME, "--concurrency", "2"],
                     env={"SUPPLYCHAIN_PASSWORD": "pw"})
    assert result.code == 0, result
    lines = [line for line in result.stderr.splitlines() if line.startswith(("Signed ", "ERROR "))]
    # one line per image, in argument order; each names its log entry (the embedded default log, issue 8.5)
    prefixes = [f"Signed {ref}: Pushed signature for {digest} to oci:{fixture_layout_copy}:sha256-{digest.hex}.sig ("
                for ref, digest in zip(refs, (single, multi), strict=True)]
    assert len(lines) == 2 and all(line.startswith(prefix) for line, prefix in zip(lines, prefixes, strict=True))
    assert all("; tlog entry index " in line for line in lines)
    assert "uses a tag, not a digest" in result.stderr and refs[0] in result.stderr  # the tagged one is named
    assert verify(*refs, "--key", str(pub)).code == 0


def test_sign_several_images_signs_the_good_ones_and_exits_with_the_worst(fixture_layout_copy: Path,
                                                                         key_pair: tuple[Path, Path]):
    key, pub = key_pair
    good = f"oci:{fixture_layout_copy}:single"
    missing = f"oci:{fixture_layout_copy}:nope"  # 4, not found
    unreachable = f"127.0.0.1:1/team/app@sha256:{'ab' * 32}"  # 6, unavailable: nothing listens on port 1
    result = run_cli(["sign", missing, good, unreachable, "--key", str(key), "--reference-name", NAME],
                     env={"SUPPLYCHAIN_PASSWORD": "pw"})
    assert result.code == ExitCode.UNAVAILABLE, result  # the worst of 4 and 6
    lines = [line for line in result.stderr.splitlines() if line.startswith(("Signed ", "ERROR ", "error: "))]
    assert [line.split(":", 1)[0].split(" ")[0] for line in lines] == ["ERROR", "Signed", "ERROR", "error"]
    assert lines[0].startswith(f"ERROR {missing}: ") and lines[2].startswith(f"ERROR {unreachable}: ")
    assert lines[3] == "error: 2 of 3 images could not be signed (see the ERROR lines above)"
    assert verify(good, "--key", str(pub)).code == 0  # the good one was still signed
    # A bad reference or a layout without a name is refused before anything is signed.
    before = snapshot(fixture_layout_copy)
    bad = run_cli(["sign", f"oci:{fixture_layout_copy}:multi", "Not//A/Ref", "--key", str(key), "--reference-name",
                   NAME], env={"SUPPLYCHAIN_PASSWORD": "pw"})
    bad.assert_one_line_error(ExitCode.INVALID_INPUT)
    assert snapshot(fixture_layout_copy) == before
    outputs = run_cli(["sign", good, f"oci:{fixture_layout_copy}:multi", "--key", str(key), "--reference-name", NAME,
                       "--output-signature", "sig.txt"], env={"SUPPLYCHAIN_PASSWORD": "pw"})
    assert outputs.code == ExitCode.USAGE


# -- BYO PKI: sign --certificate --certificate-chain (issue 8, item 9) ---------------------------------------------


def _pem(cert: object) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.PEM)  # type: ignore[attr-defined, no-any-return]


def _issue(subject_key: object, issuer: tuple[object, object] | None, name: str, *, ca: bool,
           email: str | None = None) -> tuple[object, object]:
    """A TEST-ONLY certificate for ``subject_key`` (a CA, or a code-signing leaf with an email identity)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"TEST-ONLY {name}")])
    issuer_cert, issuer_key = issuer if issuer else (None, subject_key)
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer_cert.subject if issuer_cert else subject)  # type: ignore[attr-defined]
               .public_key(subject_key.public_key() if hasattr(subject_key, "public_key") else subject_key)
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(hours=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if email is not None:
        builder = (builder.add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False))
    return builder.sign(issuer_key, hashes.SHA256()), subject_key  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def byo_pki(tmp_path_factory: pytest.TempPathFactory, key_pair: tuple[Path, Path]) -> dict[str, Path]:
    """A root CA, an intermediate, and a leaf for the module's signing key (identity release@example.com)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    directory = tmp_path_factory.mktemp("pki")
    root = _issue(ec.generate_private_key(ec.SECP256R1()), None, "root", ca=True)
    intermediate = _issue(ec.generate_private_key(ec.SECP256R1()), root, "intermediate", ca=True)
    signing_key = load_public_key_pem(key_pair[1].read_bytes()).key
    leaf = _issue(signing_key, intermediate, "leaf", ca=False, email="release@example.com")
    other = _issue(ec.generate_private_key(ec.SECP256R1()), intermediate, "other", ca=False, email="x@example.com")
    paths = {"root": _pem(root[0]), "intermediate": _pem(intermediate[0]), "leaf": _pem(leaf[0]),
             "chain": _pem(intermediate[0]) + _pem(root[0]), "other": _pem(other[0])}
    for name, data in paths.items():
        (directory / f"{name}.pem").write_bytes(data)
    return {name: directory / f"{name}.pem" for name in paths}


def test_sign_with_a_certificate_verifies_by_identity(fixture_layout_copy: Path, key_pair: tuple[Path, Path],
                                                      byo_pki: dict[str, Path]):
    key = key_pair[0]
    ref = f"oci:{fixture_layout_copy}:single"
    certificate = ["--certificate", str(byo_pki["leaf"]), "--certificate-chain", str(byo_pki["chain"])]
    assert sign(fixture_layout_copy, key, *certificate).code == 0
    layout = OciLayout(fixture_layout_copy)
    digest = layout.resolve("single").digest
    sig = layout.get_manifest(attachment_tag(digest, AttachmentKind.SIGNATURE))
    annotations = sig.layers[0].annotations  # type: ignore[union-attr]
    assert annotations["dev.sigstore.cosign/certificate"] == byo_pki["leaf"].read_text()
    assert annotations["dev.sigstore.cosign/chain"] == byo_pki["chain"].read_text()
    identity = ["--certificate-identity", "release@example.com", "--ca-roots", str(byo_pki["root"])]
    result = verify(ref, *identity)
    assert result.code == 0, result  # the intermediate came from the stored chain
    assert verify(ref, "--certificate-identity", "x@example.com", "--ca-roots", str(byo_pki["root"])).code == (
        ExitCode.VERIFICATION_FAILED)  # control: another identity is a "no"

    bundle_ref = f"oci:{fixture_layout_copy}:multi"
    assert sign(fixture_layout_copy, key, *certificate, "--format", "bundle", ref="multi").code == 0
    # A v0.3 bundle holds the leaf only: the intermediate must be given.
    result = verify(bundle_ref, *identity, "--ca-intermediates", str(byo_pki["intermediate"]))
    assert result.code == 0, result
    assert "referrer" in result.stderr
    assert verify(bundle_ref, *identity).code == ExitCode.VERIFICATION_FAILED


def test_sign_refuses_a_certificate_of_another_key(fixture_layout_copy: Path, key_pair: tuple[Path, Path],
                                                   byo_pki: dict[str, Path]):
    before = snapshot(fixture_layout_copy)
    result = sign(fixture_layout_copy, key_pair[0], "--certificate", str(byo_pki["other"]))
    result.assert_one_line_error(ExitCode.INVALID_INPUT, "the certificate's public key is not the signing key's")
    chain_only = sign(fixture_layout_copy, key_pair[0], "--certificate-chain", str(byo_pki["chain"]))
    assert chain_only.code == ExitCode.USAGE
    two = sign(fixture_layout_copy, key_pair[0], "--certificate", str(byo_pki["chain"]))
    two.assert_one_line_error(ExitCode.INVALID_INPUT, "expected the leaf only")
    assert snapshot(fixture_layout_copy) == before

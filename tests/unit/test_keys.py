"""supplychain.keys against third-party vectors (cosign, sigstore-rs, policy-controller, go-securesystemslib).

The vectors and their passwords are listed in fixtures/vectors/keys/README.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from asn1crypto.keys import PrivateKeyInfo
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from nacl.secret import SecretBox

from supplychain import keys
from supplychain.errors import ExitCode, InvalidInputError
from supplychain.keys import envelope
from supplychain.keys.pem import decode_pem, encode_pem
from tests.support.fixture import fixture_path

COSIGN = ("vectors", "keys", "sigstore-cosign", "pkg", "cosign", "keys_test_consts")
RS_KEYS = ("vectors", "keys", "sigstore-rs", "tests", "data", "keys")
RS_IMPORT = ("vectors", "keys", "sigstore-rs", "examples", "key_interface", "key_pair_import")
POLICY_CONTROLLER = ("vectors", "keys", "sigstore-policy-controller", "examples", "keys")
COSIGN_CI = ("vectors", "keys", "sigstore-cosign", "github-workflows")


def vector(*parts: str) -> Path:
    return fixture_path(*parts)


def read(*parts: str) -> bytes:
    return vector(*parts).read_bytes()


def cosign_expected() -> dict[str, dict[str, str]]:
    document = json.loads(read(*COSIGN, "EXPECTED.json"))
    return next(value for key, value in document.items() if key.startswith("LoadPrivateKey"))


def expected_public_pem(name: str) -> bytes:
    entry = cosign_expected()[name]
    field = next(key for key in entry if key.startswith("derived_public_key_pem"))
    return entry[field].encode()


# (file, password, algorithm, expected public key PEM or None)
ENCRYPTED_VECTORS = [
    pytest.param(
        (*COSIGN, "pemcosignkey.pem"), "hello", "ecdsa-p256", expected_public_pem("pemcosignkey"), id="pemcosignkey"
    ),
    pytest.param(
        (*COSIGN, "pemsigstorekey.pem"),
        "hello",
        "ecdsa-p256",
        expected_public_pem("pemsigstorekey"),
        id="pemsigstorekey",
    ),
    pytest.param((*RS_KEYS, "ecdsa_encrypted_private.key"), "123", "ecdsa-p256", None, id="sigstore-rs-ecdsa"),
    pytest.param((*RS_KEYS, "ed25519_encrypted_private.key"), "123", "ed25519", None, id="sigstore-rs-ed25519-v2"),
    pytest.param((*RS_KEYS, "rsa_encrypted_private.key"), "123", "rsa-4096", None, id="sigstore-rs-rsa"),
    pytest.param(
        (*RS_KEYS, "cosign_generated_encrypted_empty_private.key"), "", "ecdsa-p256", None, id="cosign-empty-password"
    ),
    pytest.param(
        (*RS_IMPORT, "ECDSA_P256_ASN1_ENCRYPTED_PRIVATE_PEM.key"),
        "password",
        "ecdsa-p256",
        None,  # the example's .pub files hold other keys (see fixtures/vectors/keys/README.md)
        id="sigstore-rs-example",
    ),
    pytest.param(
        (*POLICY_CONTROLLER, "cosign.key"),
        "",
        "ecdsa-p256",
        read(*POLICY_CONTROLLER, "cosign.pub"),
        id="policy-controller",
    ),
]


@pytest.mark.parametrize(("parts", "password", "algorithm", "public_pem"), ENCRYPTED_VECTORS)
def test_encrypted_key_vector_loads(parts: tuple[str, ...], password: str, algorithm: str, public_pem: bytes | None):
    data = read(*parts)
    assert keys.is_encrypted_private_key(data)
    for given in (password, password.encode()):  # str and bytes passwords are the same password
        private_key = keys.decrypt_private_key(data, given)
        assert private_key.algorithm == algorithm
        if public_pem is not None:
            assert private_key.public_key() == keys.load_public_key_pem(public_pem)
            assert private_key.public_key().pem() == public_pem  # byte-identical to what Go wrote
        signature = keys.sign(private_key, b"payload")
        assert keys.verify(private_key.public_key(), signature, b"payload")


@pytest.mark.parametrize(("parts", "password", "algorithm", "public_pem"), ENCRYPTED_VECTORS)
def test_encrypted_key_vector_refuses_wrong_password(
    parts: tuple[str, ...], password: str, algorithm: str, public_pem: bytes | None
):
    with pytest.raises(keys.WrongPasswordError) as info:
        keys.decrypt_private_key(read(*parts), password + "x")
    assert "wrong password" in info.value.message
    assert info.value.exit_code == ExitCode.INVALID_INPUT


def test_load_private_key_dispatches_on_encryption():
    encrypted = read(*POLICY_CONTROLLER, "cosign.key")
    assert keys.load_private_key(encrypted, "").algorithm == "ecdsa-p256"
    with pytest.raises(keys.InvalidKeyError, match="no password"):
        keys.load_private_key(encrypted)
    assert keys.load_private_key(read(*COSIGN, "validecp384.pem")).algorithm == "ecdsa-p384"


def test_cosign_ci_key_parses_and_refuses_a_wrong_password():
    # Its password is a CI secret upstream: the envelope must parse and every guess must fail on the MAC.
    data = read(*COSIGN_CI, "cosign-test.key")
    block = decode_pem(data)
    assert block.label == keys.COSIGN_PRIVATE_KEY_LABEL
    assert json.loads(block.body)["kdf"]["params"] == {"N": 32768, "r": 8, "p": 1}
    for guess in ("", "password", "hello"):
        with pytest.raises(keys.WrongPasswordError):
            keys.decrypt_private_key(data, guess)
    assert keys.load_public_key_pem(read(*COSIGN_CI, "cosign-test.pub")).algorithm == "ecdsa-p256"


def test_sec1_key_inside_envelope_is_refused_like_cosign():
    data = read(*COSIGN, "pemcosigneckey.pem")
    with pytest.raises(keys.InvalidKeyError) as info:
        keys.decrypt_private_key(data, "hello")
    assert "SEC1" in info.value.message
    assert "not PKCS#8" in info.value.message
    assert "cosign" in info.value.hint
    with pytest.raises(keys.WrongPasswordError):  # the password is still checked first
        keys.decrypt_private_key(data, "nope")


# -- go-securesystemslib envelopes -------------------------------------------------------------------------------


def securesystemslib_vectors() -> list[dict[str, str]]:
    path = vector("vectors", "keys", "go-securesystemslib", "encrypted", "encrypted_test.vectors.json")
    vectors: list[dict[str, str]] = json.loads(path.read_bytes())["vectors"]
    return vectors


@pytest.mark.parametrize("case", [v for v in securesystemslib_vectors() if "plaintext" in v], ids=lambda v: v["name"])
def test_securesystemslib_envelopes_open_for_every_accepted_scrypt_cost(case: dict[str, str]):
    plaintext = envelope.open_envelope(case["envelope"].encode(), case["passphrase"].encode())
    assert plaintext == case["plaintext"].encode()
    with pytest.raises(keys.WrongPasswordError):
        envelope.open_envelope(case["envelope"].encode(), b"not-" + case["passphrase"].encode())


def test_unsupported_scrypt_parameters_are_refused():
    (case,) = [v for v in securesystemslib_vectors() if "expect_error" in v]
    with pytest.raises(keys.UnsupportedKeyError, match="unsupported scrypt parameters N=99 r=99 p=99"):
        envelope.open_envelope(case["envelope"].encode(), case["passphrase"].encode())
    # the same envelope inside a cosign PEM file
    pem = encode_pem(keys.SIGSTORE_PRIVATE_KEY_LABEL, case["envelope"].encode())
    with pytest.raises(keys.UnsupportedKeyError, match="scrypt"):
        keys.decrypt_private_key(pem, case["passphrase"])


def _envelope(**changes: object) -> bytes:
    document: dict[str, object] = json.loads(decode_pem(read(*POLICY_CONTROLLER, "cosign.key")).body)
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = document
        for name in parents:
            target = target[name]  # type: ignore[assignment]
        target[last] = value
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not the expected JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"kdf": {}, "kdf": {}}', "duplicate"),
        (_envelope(kdf__name="pbkdf2"), "unsupported key derivation"),
        (_envelope(cipher__name="aes-gcm"), "unsupported cipher"),
        (_envelope(kdf__params__N="32768"), "not an integer"),
        (_envelope(kdf__params__p=True), "not an integer"),
        (_envelope(kdf__params__N=1 << 30), "unsupported scrypt parameters"),
        (_envelope(kdf__params__r=1), "unsupported scrypt parameters"),
        (_envelope(kdf__salt="***"), "not valid base64"),
        (_envelope(cipher__nonce=base64.b64encode(b"n" * 12).decode()), "nonce is 12 bytes"),
        (_envelope(ciphertext=base64.b64encode(b"short").decode()), "shorter than its authentication tag"),
        (_envelope(ciphertext=None), "'ciphertext' is missing"),
    ],
)
def test_malformed_envelopes_are_refused_with_a_reason(body: bytes, message: str):
    with pytest.raises(keys.InvalidKeyError, match=message):
        keys.decrypt_private_key(encode_pem(keys.SIGSTORE_PRIVATE_KEY_LABEL, body), "")


def test_tampered_ciphertext_fails_authentication():
    document = json.loads(decode_pem(read(*POLICY_CONTROLLER, "cosign.key")).body)
    ciphertext = bytearray(base64.b64decode(document["ciphertext"]))
    ciphertext[-1] ^= 1
    document["ciphertext"] = base64.b64encode(ciphertext).decode()
    pem = encode_pem(keys.COSIGN_PRIVATE_KEY_LABEL, json.dumps(document).encode())
    with pytest.raises(keys.WrongPasswordError):
        keys.decrypt_private_key(pem, "")


# -- plain PEM import (cosign pkg/cosign/keys_test.go TestImportPrivateKey) ------------------------------------


def import_cases() -> list[dict[str, str | None]]:
    document = json.loads(read(*COSIGN, "EXPECTED.json"))
    cases: list[dict[str, str | None]] = next(v for k, v in document.items() if k.startswith("ImportKeyPair"))
    return cases


# Our reason for each key cosign refuses (cosign's own wording in EXPECTED.json differs).
REFUSAL_REASONS = {
    "invalidrsawithpubkey.pem": "got PEM type 'PUBLIC KEY'",
    "invalidrsasmallkey.pem": "RSA key size not supported: 1024 bits",
    "invalidrsalargekey.pem": "RSA key size not supported: 5120 bits",
    "invalidecp224.pem": "ECDSA curve P-224 is not allowed",
    "invalidecunsupported.pem": "ECDSA curve secp256k1 is not allowed",
    "invalidkey.pem": "OpenPGP keys",
}


def test_every_cosign_import_vector_is_covered():
    refused = {c["file"] for c in import_cases() if c["expected_error"] is not None}
    assert refused == set(REFUSAL_REASONS)


@pytest.mark.parametrize("name", [c["file"] for c in import_cases() if c["expected_error"] is None])
def test_valid_cosign_import_vectors_load_and_round_trip(name: str):
    private_key = keys.load_private_key_pem(read(*COSIGN, name))
    # Re-encrypted with 'hello' then loaded again, as cosign's TestImportPrivateKey does.
    reloaded = keys.decrypt_private_key(keys.encrypt_private_key(private_key, "hello"), "hello")
    assert reloaded.public_key() == private_key.public_key()
    assert keys.verify(reloaded.public_key(), keys.sign(private_key, b"x"), b"x")


@pytest.mark.parametrize("name", sorted(REFUSAL_REASONS))
def test_invalid_cosign_import_vectors_are_refused_with_a_reason(name: str):
    with pytest.raises(keys.InvalidKeyError) as info:
        keys.load_private_key_pem(read(*COSIGN, name))
    assert REFUSAL_REASONS[name] in info.value.message
    assert "\n" not in info.value.message
    assert isinstance(info.value, InvalidInputError)


@pytest.mark.parametrize(
    ("name", "algorithm"),
    [("ecdsa_private.key", "ecdsa-p256"), ("ed25519_private.key", "ed25519"), ("rsa_private.key", "rsa-4096")],
)
def test_sigstore_rs_plain_keys_import(name: str, algorithm: str):
    assert keys.load_private_key_pem(read(*RS_KEYS, name)).algorithm == algorithm


def test_sigstore_rs_der_and_pem_example_keys_load():
    assert keys.load_private_key_pem(read(*RS_IMPORT, "ECDSA_P256_ASN1_PRIVATE_PEM.key")).algorithm == "ecdsa-p256"
    assert keys.load_private_key_der(read(*RS_IMPORT, "ECDSA_P256_ASN1_PRIVATE_DER.key")).algorithm == "ecdsa-p256"
    from_der = keys.load_public_key_der(read(*RS_IMPORT, "ECDSA_P256_ASN1_PUBLIC_DER.pub"))
    from_pem = keys.load_public_key_pem(read(*RS_IMPORT, "ECDSA_P256_ASN1_PUBLIC_PEM.pub"))
    assert from_der.algorithm == from_pem.algorithm == "ecdsa-p256"
    assert from_pem.pem() == read(*RS_IMPORT, "ECDSA_P256_ASN1_PUBLIC_PEM.pub")


# -- PKCS#8 v2 (RFC 5958) ----------------------------------------------------------------------------------------


def test_pkcs8_v2_ed25519_loads_although_cryptography_refuses_it():
    der = decode_pem(read(*RS_KEYS, "ed25519_private.key")).body
    assert der[2:5] == b"\x02\x01\x01"  # version v2(1)
    with pytest.raises(ValueError):
        serialization.load_der_private_key(der, None)
    private_key = keys.load_private_key_der(der)
    raw_public = private_key.public_key().key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert der.endswith(raw_public)  # the [1] publicKey field matched the private key


def test_pkcs8_v2_with_a_foreign_public_key_is_refused():
    der = bytearray(decode_pem(read(*RS_KEYS, "ed25519_private.key")).body)
    der[-1] ^= 1
    with pytest.raises(keys.InvalidKeyError, match="publicKey field does not match"):
        keys.load_private_key_der(bytes(der))


def test_pkcs8_v2_rewrite_keeps_the_private_key():
    der = decode_pem(read(*RS_KEYS, "ed25519_private.key")).body
    loaded = keys.load_private_key_der(der)
    assert loaded.algorithm == "ed25519"
    v1 = serialization.load_der_private_key(loaded.pkcs8_der(), None)
    assert isinstance(v1, ed25519.Ed25519PrivateKey)
    assert v1.private_bytes_raw() == der[16:48]  # OCTET STRING { OCTET STRING seed } in the original


# -- bad input ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a PEM file"),
        (b"\x30\x82\x01\x00garbage", "not a PEM file"),
        (read(*POLICY_CONTROLLER, "cosign.key")[:200], "truncated PEM"),
        (read(*COSIGN, "validrsa.pem")[:-40], "truncated PEM"),
        (b"-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n", "not valid base64"),
        (b"-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n", "is empty"),
        (
            b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n"
            b"-----END RSA PRIVATE KEY-----\n",
            "has headers",
        ),
    ],
    ids=["empty", "der", "truncated-encrypted", "truncated-plain", "base64", "empty-body", "openssl-encrypted"],
)
def test_unreadable_key_files_are_refused(data: bytes, message: str):
    with pytest.raises(keys.InvalidKeyError, match=message):
        keys.load_private_key(data, "")


def test_truncated_der_inside_valid_pem_is_refused():
    der = decode_pem(read(*COSIGN, "validrsapkcs8.pem")).body
    with pytest.raises(keys.InvalidKeyError, match="truncated"):
        keys.load_private_key_pem(encode_pem("PRIVATE KEY", der[:-10]))


def test_truncated_plaintext_inside_envelope_is_refused():
    der = keys.generate_key_pair().private_key.pkcs8_der()
    pem = encode_pem(keys.SIGSTORE_PRIVATE_KEY_LABEL, envelope.seal(der[:-5], b"pw"))
    with pytest.raises(keys.InvalidKeyError, match="truncated"):
        keys.decrypt_private_key(pem, "pw")


def test_pem_label_must_match_its_content():
    sec1 = read(*COSIGN, "validecp256.pem").replace(b"EC PRIVATE KEY", b"PRIVATE KEY")
    with pytest.raises(keys.InvalidKeyError, match="expected a PKCS#8 private key, found a SEC1 EC key"):
        keys.load_private_key_pem(sec1)


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("ENCRYPTED PRIVATE KEY", "password-protected PKCS#8"),
        ("OPENSSH PRIVATE KEY", "OpenSSH"),
        ("CERTIFICATE", "got PEM type 'CERTIFICATE'"),
        ("ENCRYPTED SIGSTORE PRIVATE KEY", "got an encrypted cosign key"),
    ],
)
def test_other_pem_types_are_refused_for_import(label: str, message: str):
    with pytest.raises(keys.InvalidKeyError, match=message):
        keys.load_private_key_pem(encode_pem(label, b"\x30\x00"))


def test_encrypted_key_needs_the_encrypted_label():
    with pytest.raises(keys.InvalidKeyError, match="expected an encrypted cosign private key"):
        keys.decrypt_private_key(read(*COSIGN, "validecp256.pem"), "")


def _private_pem(key: object) -> bytes:
    assert isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed448.Ed448PrivateKey)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: rsa.generate_private_key(65537, 1024), "1024 bits"),
        (lambda: ec.generate_private_key(ec.SECP224R1()), "P-224"),
        (lambda: ec.generate_private_key(ec.SECP256K1()), "secp256k1"),
        (lambda: ed448.Ed448PrivateKey.generate(), "Ed448"),
    ],
    ids=["rsa-1024", "p224", "secp256k1", "ed448"],
)
def test_weak_or_unsupported_keys_are_refused_private_and_public(make, message: str):
    private = make()
    with pytest.raises(keys.UnsupportedKeyError, match=message):
        keys.load_private_key_pem(_private_pem(private))
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(keys.UnsupportedKeyError, match=message):
        keys.load_public_key_pem(public_pem)


def test_public_key_loader_refuses_private_keys_and_garbage():
    with pytest.raises(keys.InvalidKeyError, match="expected a PUBLIC KEY PEM, got PEM type 'EC PRIVATE KEY'"):
        keys.load_public_key_pem(read(*COSIGN, "validecp256.pem"))
    with pytest.raises(keys.InvalidKeyError, match="SubjectPublicKeyInfo"):
        keys.load_public_key_pem(encode_pem("PUBLIC KEY", b"\x30\x03\x02\x01\x00"))


@pytest.mark.parametrize(
    "der",
    [
        b"\x30\x80\x02\x01\x00\x00\x00",  # indefinite length (BER)
        b"\x30\x81\x05\x02\x01\x00\x02\x00",  # non-minimal length
        b"\x30\x06\x02\x01\x00",  # runs past the end
        b"\x30\x03\x02\x01\x00\x00",  # trailing byte
        b"\x1f\x01\x00",  # high tag number
    ],
)
def test_malformed_der_is_refused(der: bytes):
    with pytest.raises(keys.InvalidKeyError):
        keys.load_private_key_der(der)


# -- generation, sign and verify ---------------------------------------------------------------------------------

HASH_OF = {"ecdsa-p256": hashes.SHA256, "ecdsa-p384": hashes.SHA384, "ecdsa-p521": hashes.SHA512}


@pytest.fixture(scope="module", params=[a.value for a in keys.KeyAlgorithm])
def generated(request: pytest.FixtureRequest) -> keys.KeyPair:
    return keys.generate_key_pair(request.param)


def test_generated_keys_have_the_requested_algorithm(generated: keys.KeyPair):
    assert generated.private_key.algorithm in {a.value for a in keys.KeyAlgorithm}
    assert generated.public_key == generated.private_key.public_key()
    assert "PRIVATE" not in repr(generated.private_key) and "0x" not in repr(generated)


def test_generated_keys_round_trip_through_cosign_format(generated: keys.KeyPair):
    pem = keys.encrypt_private_key(generated.private_key, "s3cret")
    assert pem.startswith(b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    assert all(len(line) <= 64 for line in pem.splitlines())
    loaded = keys.decrypt_private_key(pem, b"s3cret")
    assert loaded.public_key() == generated.public_key
    public = keys.load_public_key_pem(generated.public_key.pem())
    assert public == generated.public_key
    assert hash(public) == hash(generated.public_key)
    assert public != keys.generate_key_pair().public_key
    assert public.algorithm == generated.private_key.algorithm


def test_generated_keys_sign_and_verify(generated: keys.KeyPair):
    data = b'{"critical":{}}'
    signature = keys.sign(generated.private_key, data)
    assert keys.verify(generated.public_key, signature, data)
    assert not keys.verify(generated.public_key, signature, data + b" ")
    assert not keys.verify(generated.public_key, b"", data)
    assert not keys.verify(generated.public_key, b"\x30\x00" + bytes(100), data)
    other_algorithm = "ecdsa-p256" if generated.private_key.algorithm == "ed25519" else "ed25519"
    other = keys.generate_key_pair(other_algorithm)
    assert not keys.verify(other.public_key, signature, data)  # a key of another algorithm


def test_signature_encodings_are_what_cosign_expects(generated: keys.KeyPair):
    data = b"payload"
    signature = keys.sign(generated.private_key, data)
    key = generated.public_key.key
    algorithm = generated.private_key.algorithm
    if isinstance(key, ec.EllipticCurvePublicKey):
        decode_dss_signature(signature)  # ASN.1 DER (r, s)
        key.verify(signature, data, ec.ECDSA(HASH_OF[algorithm]()))  # the curve's own hash
        assert generated.public_key.hash_name == HASH_OF[algorithm].name
    elif isinstance(key, rsa.RSAPublicKey):
        key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        assert len(signature) * 8 == key.key_size
    else:
        assert isinstance(key, ed25519.Ed25519PublicKey)
        key.verify(signature, data)
        assert generated.public_key.hash_name is None


def test_hash_override_for_old_cosign_signatures():
    pair = keys.generate_key_pair("ecdsa-p384")
    signature = keys.sign(pair.private_key, b"d", hash_name="sha256")
    assert not keys.verify(pair.public_key, signature, b"d")
    assert keys.verify(pair.public_key, signature, b"d", hash_name="sha256")
    ed = keys.generate_key_pair("ed25519")
    with pytest.raises(keys.UnsupportedKeyError):
        keys.sign(ed.private_key, b"d", hash_name="sha512")


def test_signature_by_another_key_of_the_same_algorithm_fails():
    first, second = keys.generate_key_pair(), keys.generate_key_pair()
    signature = keys.sign(first.private_key, b"d")
    assert not keys.verify(second.public_key, signature, b"d")
    with pytest.raises(InvalidSignature):  # the reference implementation agrees
        public = second.public_key.key
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(signature, b"d", ec.ECDSA(hashes.SHA256()))


def test_unknown_algorithm_is_refused():
    with pytest.raises(keys.UnsupportedKeyError, match="unknown key algorithm 'dsa-1024'"):
        keys.generate_key_pair("dsa-1024")


# -- cross-compatibility: what cosign does to read our files --------------------------------------------------------


def independent_decrypt(pem: bytes, password: bytes) -> bytes:
    """cosign's reading, written out with nothing from supplychain: PEM, JSON, scrypt, secretbox, PKCS#8."""
    lines = pem.decode().strip().splitlines()
    assert lines[0] == "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"
    assert lines[-1] == "-----END ENCRYPTED SIGSTORE PRIVATE KEY-----"
    document = json.loads(base64.b64decode("".join(lines[1:-1])))
    params = document["kdf"]["params"]
    key = hashlib.scrypt(
        password,
        salt=base64.b64decode(document["kdf"]["salt"]),
        n=params["N"],
        r=params["r"],
        p=params["p"],
        maxmem=256 * 1024 * 1024,
        dklen=32,
    )
    return SecretBox(key).decrypt(
        base64.b64decode(document["ciphertext"]), base64.b64decode(document["cipher"]["nonce"])
    )


def test_our_encrypted_keys_open_with_an_independent_implementation(generated: keys.KeyPair):
    pem = keys.encrypt_private_key(generated.private_key, "pässword")
    plaintext = independent_decrypt(pem, "pässword".encode())
    assert PrivateKeyInfo.load(plaintext, strict=True).native["version"] == 0  # x509.ParsePKCS8PrivateKey's input
    loaded = serialization.load_der_private_key(plaintext, None)
    public_der = loaded.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert public_der == generated.public_key.der()


def test_envelope_json_has_cosigns_shape_and_field_order():
    pem = keys.encrypt_private_key(keys.generate_key_pair().private_key, "")
    body = decode_pem(pem).body
    document = json.loads(body)
    assert list(document) == ["kdf", "cipher", "ciphertext"]
    assert list(document["kdf"]) == ["name", "params", "salt"]
    assert document["kdf"]["name"] == "scrypt" and document["cipher"]["name"] == "nacl/secretbox"
    assert document["kdf"]["params"] == {"N": 32768, "r": 8, "p": 1}
    assert list(document["kdf"]["params"]) == ["N", "r", "p"]
    assert len(base64.b64decode(document["kdf"]["salt"])) == 32
    assert len(base64.b64decode(document["cipher"]["nonce"])) == 24
    assert b" " not in body  # compact, as Go's json.Marshal


def test_other_accepted_scrypt_costs_and_labels():
    private_key = keys.generate_key_pair().private_key
    pem = keys.encrypt_private_key(
        private_key, "pw", label=keys.COSIGN_PRIVATE_KEY_LABEL, scrypt_params=keys.SCRYPT_STANDARD
    )
    assert pem.startswith(b"-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----")
    assert json.loads(decode_pem(pem).body)["kdf"]["params"]["N"] == 65536
    assert keys.decrypt_private_key(pem, "pw").public_key() == private_key.public_key()
    with pytest.raises(keys.UnsupportedKeyError):
        keys.encrypt_private_key(private_key, "pw", scrypt_params=keys.ScryptParams(1024, 8, 1))


def test_salt_and_nonce_are_fresh_each_time():
    private_key = keys.generate_key_pair().private_key
    first = json.loads(decode_pem(keys.encrypt_private_key(private_key, "pw")).body)
    second = json.loads(decode_pem(keys.encrypt_private_key(private_key, "pw")).body)
    assert first["kdf"]["salt"] != second["kdf"]["salt"]
    assert first["cipher"]["nonce"] != second["cipher"]["nonce"]

"""Hostile key bytes give an ``InvalidKeyError`` (a one-line reason), never another exception."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supplychain import keys
from supplychain.keys.pem import decode_pem, encode_pem
from tests.support.fixture import fixture_path

RS_KEYS = ("vectors", "keys", "sigstore-rs", "tests", "data", "keys")
COSIGN = ("vectors", "keys", "sigstore-cosign", "pkg", "cosign", "keys_test_consts")

# Valid DER to mutate: PKCS#8 EC, PKCS#8 v2 Ed25519, PKCS#1 RSA, SEC1 EC, PKCS#8 RSA.
PRIVATE_DER = [
    decode_pem(fixture_path(*RS_KEYS, name).read_bytes()).body for name in ("ecdsa_private.key", "ed25519_private.key")
] + [
    decode_pem(fixture_path(*COSIGN, name).read_bytes()).body
    for name in ("validrsapkcs1.pem", "validecp521.pem", "validrsapkcs8.pem")
]
PUBLIC_DER = [keys.load_private_key_der(der).public_key().der() for der in PRIVATE_DER]

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutated(draw: st.DrawFn, sources: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(sources)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del data[position:]
        elif kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=4))
        elif data:
            del data[position]
    return bytes(data)


def accepts_or_refuses(load: object, data: bytes) -> None:
    assert callable(load)
    try:
        load(data)
    except keys.InvalidKeyError as exc:
        assert exc.message and "\n" not in exc.message


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_as_private_key_der(data: bytes):
    accepts_or_refuses(keys.load_private_key_der, data)


@FUZZ
@given(mutated(PRIVATE_DER))
def test_mutated_private_key_der(data: bytes):
    accepts_or_refuses(keys.load_private_key_der, data)
    accepts_or_refuses(keys.load_private_key_pem, encode_pem("PRIVATE KEY", data) if data else b"")


@FUZZ
@given(mutated(PUBLIC_DER))
def test_mutated_public_key_der(data: bytes):
    accepts_or_refuses(keys.load_public_key_der, data)


@FUZZ
@given(st.text(max_size=400))
def test_random_text_as_any_key_file(text: str):
    data = text.encode("utf-8", "surrogatepass")
    accepts_or_refuses(keys.load_public_key_pem, data)
    accepts_or_refuses(lambda d: keys.load_private_key(d, ""), data)


@pytest.mark.parametrize(
    "body",
    [
        b"{}",
        b'{"kdf": null, "cipher": {}}',
        b'{"kdf": {"name": "scrypt", "params": []}, "cipher": {"name": "nacl/secretbox"}}',
        b'{"kdf": {"name": "scrypt", "params": {"N": 32768, "r": 8, "p": 1}, "salt": 5},'
        b' "cipher": {"name": "nacl/secretbox", "nonce": ""}, "ciphertext": ""}',
        b"[" * 100_000,
        b"\xff\xfe",
    ],
)
def test_hostile_envelopes_are_refused(body: bytes):
    with pytest.raises(keys.InvalidKeyError):
        keys.decrypt_private_key(encode_pem(keys.SIGSTORE_PRIVATE_KEY_LABEL, body), "")

"""Key values, generation, plain PEM loading, and the sign/verify primitives, on pyca/cryptography.

What is accepted follows cosign (``pkg/cosign/keys.go`` import rules, sigstore ``cryptoutils.ValidatePubKey``):
ECDSA on P-256, P-384 and P-521; RSA from 2048 to 4096 bits; Ed25519. Everything else (P-224, secp256k1,
RSA 1024 or 5120, RSA-PSS-only keys, DSA, Ed448, X25519) is refused with a one-line reason.

Signatures are what cosign and sigstore-go produce: ECDSA as ASN.1 DER over the curve's hash (P-256 SHA-256,
P-384 SHA-384, P-521 SHA-512: sigstore ``signature.LoadDefaultSignerVerifier``), RSA PKCS#1 v1.5 over SHA-256,
Ed25519 over the message itself.

Before a key reaches cryptography, asn1crypto reads its outer DER shape to do what cryptography does not: tell
PKCS#8 (RFC 5208/5958) from PKCS#1 (RFC 8017 A.1.2) and SEC1 (RFC 5915), since cosign takes only PKCS#8 inside
its envelope; refuse unsupported algorithms (RSA-PSS, which cryptography would load as plain RSA) and absurd RSA
sizes before cryptography's costly RSA checks; and rewrite an RFC 5958 v2 key (sigstore-rs writes Ed25519 keys
so) as v1, which cryptography refuses as-is. Key types, curves and public RSA sizes are cryptography's answers.
A public key whose DER is exactly what cryptography writes for an RSA, EC or Ed25519 key needs no such read: it is
taken as is, and asn1crypto (``keys.der``) is imported only for the others.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Literal, TypeAlias, assert_never

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

from supplychain.keys.error import InvalidKeyError, UnsupportedKeyError
from supplychain.keys.pem import decode_pem, encode_pem

PrivateKeyType: TypeAlias = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
PublicKeyType: TypeAlias = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
HashName: TypeAlias = Literal["sha256", "sha384", "sha512"]

PUBLIC_KEY_LABEL = "PUBLIC KEY"  # PKIX SubjectPublicKeyInfo, RFC 7468 section 13
RSA_PUBLIC_KEY_LABEL = "RSA PUBLIC KEY"  # PKCS#1 RSAPublicKey (RFC 8017 A.1.1), as `openssl rsa -RSAPublicKey_out`
RSA_MIN_BITS = 2048
RSA_MAX_BITS = 4096  # cosign refuses larger keys ("key size not supported: 5120")
_RSA_EXPONENT = 65537


class KeyAlgorithm(StrEnum):
    """The algorithms ``generate-key-pair --algorithm`` offers (cosign's default is ECDSA P-256)."""

    ECDSA_P256 = "ecdsa-p256"
    ECDSA_P384 = "ecdsa-p384"
    ECDSA_P521 = "ecdsa-p521"
    RSA_2048 = "rsa-2048"
    RSA_3072 = "rsa-3072"
    RSA_4096 = "rsa-4096"
    ED25519 = "ed25519"


DEFAULT_ALGORITHM = KeyAlgorithm.ECDSA_P256

# Curve name (cryptography's, SEC 2) -> (our algorithm name, the hash cosign/sigstore-go pairs with it).
_CURVES: dict[str, tuple[str, HashName]] = {
    "secp256r1": ("ecdsa-p256", "sha256"),
    "secp384r1": ("ecdsa-p384", "sha384"),
    "secp521r1": ("ecdsa-p521", "sha512"),
}
_CURVE_NICKNAMES = {"secp224r1": "P-224", "secp192r1": "P-192", "secp256k1": "secp256k1"}
_HASHES: dict[HashName, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
# asn1crypto's names for rsaEncryption (RFC 8017 A.1), id-ecPublicKey (RFC 5480 2.1.1), id-Ed25519 (RFC 8410 3).
_ALGORITHMS = {"rsa", "ec", "ed25519"}
_ALGORITHM_NICKNAMES = {"rsassa_pss": "RSA-PSS", "ed448": "Ed448", "dsa": "DSA", "x25519": "X25519", "x448": "X448"}


class PrivateKeyForm(Enum):
    """The outer structure of a private key's DER."""

    PKCS8 = "PKCS#8"
    PKCS1 = "PKCS#1 RSA"
    SEC1 = "SEC1 EC"


# PEM label of a plain private key -> the DER structure that label promises (RFC 7468 sections 10/11; SEC1).
_PRIVATE_LABELS = {
    "PRIVATE KEY": PrivateKeyForm.PKCS8,
    "RSA PRIVATE KEY": PrivateKeyForm.PKCS1,
    "EC PRIVATE KEY": PrivateKeyForm.SEC1,
}


def _check_supported(key: object) -> str:
    """Our algorithm name for ``key``, or ``UnsupportedKeyError`` with cosign's reason."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        _check_rsa_bits(key.key_size)
        return f"rsa-{key.key_size}"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        curve = key.curve.name
        if curve not in _CURVES:
            raise UnsupportedKeyError(f"ECDSA curve {_CURVE_NICKNAMES.get(curve, curve)} is not allowed")
        return _CURVES[curve][0]
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return KeyAlgorithm.ED25519.value
    raise UnsupportedKeyError(f"unsupported key type {type(key).__name__}")


def _check_rsa_bits(bits: int) -> None:
    if not RSA_MIN_BITS <= bits <= RSA_MAX_BITS:
        raise UnsupportedKeyError(
            f"RSA key size not supported: {bits} bits (cosign accepts {RSA_MIN_BITS} to {RSA_MAX_BITS})"
        )


@dataclass(frozen=True, slots=True, eq=False)
class PublicKey:
    """A supported public key (checked on construction). Equal and hashed by its PKIX DER encoding."""

    key: PublicKeyType

    def __post_init__(self) -> None:
        _check_supported(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and self.der() == other.der()

    def __hash__(self) -> int:
        return hash(self.der())

    @property
    def algorithm(self) -> str:
        """``ecdsa-p256``, ``ecdsa-p384``, ``ecdsa-p521``, ``rsa-<bits>`` or ``ed25519``."""
        return _check_supported(self.key)

    @property
    def hash_name(self) -> HashName | None:
        """The hash signed over by default (``None`` for Ed25519, which signs the message itself)."""
        return _default_hash(self.key)

    def der(self) -> bytes:
        """PKIX ``SubjectPublicKeyInfo`` DER."""
        return self.key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    def pem(self) -> bytes:
        """PKIX ``PUBLIC KEY`` PEM, as cosign writes ``cosign.pub``."""
        return encode_pem(PUBLIC_KEY_LABEL, self.der())


@dataclass(frozen=True, slots=True, repr=False)
class PrivateKey:
    """A supported private key (checked on construction). Its ``repr`` never shows key material."""

    key: PrivateKeyType

    def __post_init__(self) -> None:
        _check_supported(self.key)

    def __repr__(self) -> str:
        return f"PrivateKey(algorithm={self.algorithm!r})"

    @property
    def algorithm(self) -> str:
        """``ecdsa-p256``, ``ecdsa-p384``, ``ecdsa-p521``, ``rsa-<bits>`` or ``ed25519``."""
        return _check_supported(self.key)

    def public_key(self) -> PublicKey:
        """The matching public key."""
        return PublicKey(self.key.public_key())

    def pkcs8_der(self) -> bytes:
        """Unencrypted PKCS#8 v1 DER: the plaintext inside cosign's envelope."""
        return self.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


@dataclass(frozen=True, slots=True, repr=False)
class KeyPair:
    """A private key and its public key."""

    private_key: PrivateKey

    def __repr__(self) -> str:
        return f"KeyPair(algorithm={self.private_key.algorithm!r})"

    @property
    def public_key(self) -> PublicKey:
        """The public half."""
        return self.private_key.public_key()


def generate_key_pair(algorithm: KeyAlgorithm | str = DEFAULT_ALGORITHM) -> KeyPair:
    """A fresh key pair of ``algorithm`` (a ``KeyAlgorithm`` or its name)."""
    try:
        chosen = KeyAlgorithm(algorithm)
    except ValueError as exc:
        choices = ", ".join(a.value for a in KeyAlgorithm)
        raise UnsupportedKeyError(f"unknown key algorithm {algorithm!r}", hint=f"choose one of {choices}") from exc
    key: PrivateKeyType
    match chosen:
        case KeyAlgorithm.ECDSA_P256:
            key = ec.generate_private_key(ec.SECP256R1())
        case KeyAlgorithm.ECDSA_P384:
            key = ec.generate_private_key(ec.SECP384R1())
        case KeyAlgorithm.ECDSA_P521:
            key = ec.generate_private_key(ec.SECP521R1())
        case KeyAlgorithm.RSA_2048:
            key = rsa.generate_private_key(_RSA_EXPONENT, 2048)
        case KeyAlgorithm.RSA_3072:
            key = rsa.generate_private_key(_RSA_EXPONENT, 3072)
        case KeyAlgorithm.RSA_4096:
            key = rsa.generate_private_key(_RSA_EXPONENT, 4096)
        case KeyAlgorithm.ED25519:
            key = ed25519.Ed25519PrivateKey.generate()
        case _:
            assert_never(chosen)
    return KeyPair(PrivateKey(key))


def load_private_key_der(der: bytes, *, pkcs8_only: bool = False) -> PrivateKey:
    """A private key from DER: PKCS#8 v1/v2, or (unless ``pkcs8_only``) PKCS#1 RSA or SEC1 EC."""
    return _load_private_der(der, PrivateKeyForm.PKCS8 if pkcs8_only else None)


def load_private_key_pem(data: bytes) -> PrivateKey:
    """An unencrypted PEM private key: ``PRIVATE KEY`` (PKCS#8 v1/v2), ``RSA PRIVATE KEY``, ``EC PRIVATE KEY``."""
    block = decode_pem(data)
    form = _PRIVATE_LABELS.get(block.label)
    if form is None:
        raise _wrong_label(block.label, wanted="a plain PEM private key")
    return _load_private_der(block.body, form)


def load_public_key_pem(data: bytes) -> PublicKey:
    """A PKIX ``PUBLIC KEY`` PEM (what cosign writes to ``cosign.pub``), or a PKCS#1 ``RSA PUBLIC KEY`` PEM.

    cosign's loader (sigstore ``cryptoutils.UnmarshalPEMToPublicKey``) takes PKCS#1 RSA public keys too, so a key
    exported with ``openssl rsa -RSAPublicKey_out`` works with both tools; it is re-wrapped as PKIX here, so the
    same checks (size, algorithm) apply and ``pem()`` gives the PKIX form.
    """
    block = decode_pem(data)
    if block.label == RSA_PUBLIC_KEY_LABEL:
        return load_public_key_der(_pkcs1_public_as_pkix(block.body))
    if block.label != PUBLIC_KEY_LABEL:
        raise _wrong_label(block.label, wanted="a PUBLIC KEY PEM")
    return load_public_key_der(block.body)


def _pkcs1_public_as_pkix(der: bytes) -> bytes:
    """PKCS#1 ``RSAPublicKey`` DER wrapped in a PKIX ``SubjectPublicKeyInfo`` (rsaEncryption, NULL parameters)."""
    from asn1crypto import keys as asn1_keys

    with _parsing("PKCS#1 RSA public key"):
        key = asn1_keys.RSAPublicKey.load(der, strict=True)
        key.native  # noqa: B018  # parse every field now: asn1crypto is lazy
        return bytes(asn1_keys.PublicKeyInfo.wrap(key, "rsa").dump())


def load_public_key_der(der: bytes) -> PublicKey:
    """A PKIX ``SubjectPublicKeyInfo`` DER public key."""
    key = _canonical_public_key(der)
    if key is None:
        from supplychain.keys.der import SubjectPublicKeyInfo

        with _parsing("PKIX public key (SubjectPublicKeyInfo)"):
            _check_algorithm(SubjectPublicKeyInfo.load(der, strict=True)["algorithm"]["algorithm"].native)
        try:
            key = serialization.load_der_public_key(der)
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise InvalidKeyError("cannot parse the public key: malformed or unsupported key data") from exc
    if isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        return PublicKey(key)
    raise UnsupportedKeyError(f"unsupported key type {type(key).__name__}")


def _canonical_public_key(der: bytes) -> object | None:
    """The key, when ``der`` is exactly how cryptography writes an RSA (rsaEncryption), EC (id-ecPublicKey) or
    Ed25519 key: then its algorithm is one ``_check_algorithm`` accepts and the DER is strict, so asn1crypto (~40 ms
    to import) need not read it. Anything else (another algorithm, RSA-PSS, a non-canonical encoding) is ``None``:
    the caller reads it with asn1crypto and refuses it by name, as before."""
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm):
        return None
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        return None
    spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key if spki == der else None


def sign(private_key: PrivateKey, data: bytes, *, hash_name: HashName | None = None) -> bytes:
    """Sign ``data``: ECDSA (DER) over the curve's hash, RSA PKCS#1 v1.5 over SHA-256, or pure Ed25519.

    ``hash_name`` overrides the hash (e.g. ``sha256`` with a P-384 key, as cosign before sigstore-go did).
    """
    key = private_key.key
    if isinstance(key, ed25519.Ed25519PrivateKey):
        _no_prehash(hash_name)
        return key.sign(data)
    digest = _HASHES[hash_name or _hash_for(key)]()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(digest))
    return key.sign(data, padding.PKCS1v15(), digest)


def verify(public_key: PublicKey, signature: bytes, data: bytes, *, hash_name: HashName | None = None) -> bool:
    """Whether ``signature`` is ``public_key``'s signature over ``data`` (see ``sign``).

    A wrong or malformed signature is an answer, ``False``; only an unusable request (a hash with Ed25519)
    raises.
    """
    key = public_key.key
    if isinstance(key, ed25519.Ed25519PublicKey):
        _no_prehash(hash_name)
        try:
            key.verify(signature, data)
        except InvalidSignature:
            return False
        return True
    return _verify_hashed(key, signature, data, _HASHES[hash_name or _hash_for(key)]())


def verify_digest(public_key: PublicKey, signature: bytes, digest: bytes, hash_name: HashName) -> bool:
    """Whether ``signature`` is ``public_key``'s signature over a ``hash_name`` ``digest`` computed elsewhere (the
    pre-hashed form cosign signs and Rekor's ``hashedrekord`` checks: the signature is over the digest itself).

    Ed25519 signs messages, not digests (Ed25519ph is another algorithm): ``UnsupportedKeyError``.
    """
    key = public_key.key
    if isinstance(key, ed25519.Ed25519PublicKey):
        raise UnsupportedKeyError("Ed25519 signs the message itself, not a digest (that is Ed25519ph)",
                                  hint="use an ECDSA or RSA key to sign a digest")
    return _verify_hashed(key, signature, digest, utils.Prehashed(_HASHES[hash_name]()))


def _verify_hashed(key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey, signature: bytes, data: bytes,
                   algorithm: hashes.HashAlgorithm | utils.Prehashed) -> bool:
    """ECDSA (ASN.1 DER) or RSA PKCS#1 v1.5 over ``data`` hashed with ``algorithm`` (or already a digest)."""
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(algorithm))
        else:
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        return False
    return True


def _hash_for(key: PrivateKeyType | PublicKeyType) -> HashName:
    name = _default_hash(key)
    assert name is not None
    return name


def _default_hash(key: PrivateKeyType | PublicKeyType) -> HashName | None:
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return _CURVES[key.curve.name][1]
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "sha256"
    return None


def _no_prehash(hash_name: HashName | None) -> None:
    if hash_name is not None:
        raise UnsupportedKeyError(
            "Ed25519 signs the message itself; a hash cannot be chosen", hint="omit the hash for Ed25519 keys"
        )


def _check_algorithm(name: str) -> None:
    """Refuse an algorithm by its asn1crypto name (the dotted OID when asn1crypto has none for it)."""
    if name not in _ALGORITHMS:
        raise UnsupportedKeyError(f"unsupported key algorithm {_ALGORITHM_NICKNAMES.get(name, name)}")


def _wrong_label(label: str, *, wanted: str) -> InvalidKeyError:
    if label.startswith("ENCRYPTED ") and label.endswith(" PRIVATE KEY") and label != "ENCRYPTED PRIVATE KEY":
        return InvalidKeyError(f"expected {wanted}, got an encrypted cosign key ({label})")
    if label == "ENCRYPTED PRIVATE KEY":
        return UnsupportedKeyError(
            "password-protected PKCS#8 keys (ENCRYPTED PRIVATE KEY) are not supported",
            hint="decrypt it first: openssl pkcs8 -in KEY -out PLAIN.pem",
        )
    if label == "OPENSSH PRIVATE KEY":
        return UnsupportedKeyError(
            "OpenSSH private keys are not supported", hint="convert it: ssh-keygen -p -m PKCS8 -f KEY"
        )
    return InvalidKeyError(f"expected {wanted}, got PEM type {label!r}")


def _load_private_der(der: bytes, expected: PrivateKeyForm | None) -> PrivateKey:
    if expected in (None, PrivateKeyForm.PKCS8) and (canonical := _canonical_private_key(der)) is not None:
        return PrivateKey(canonical)
    form = private_key_form(der)
    if expected is not None and form is not expected:
        raise InvalidKeyError(f"expected a {expected.value} private key, found a {form.value} key")
    public_key_field: bytes | None = None
    match form:
        case PrivateKeyForm.PKCS8:
            der, public_key_field = _pkcs8_v1(der)
        case PrivateKeyForm.PKCS1:
            _check_rsa_bits(_rsa_modulus_bits(der))  # before cryptography's costly RSA checks
        case PrivateKeyForm.SEC1:
            pass
        case _:
            assert_never(form)
    try:
        key = serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise InvalidKeyError(f"cannot parse the {form.value} private key: malformed or unsupported") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise UnsupportedKeyError(f"unsupported key type {type(key).__name__}")
    private_key = PrivateKey(key)
    if public_key_field is not None:
        _check_public_key_field(private_key, public_key_field)
    return private_key


_EC_OR_ED25519_PKCS8_OIDS = (bytes.fromhex("06072a8648ce3d0201"), bytes.fromhex("06032b6570"))
"""The DER of id-ecPublicKey (RFC 5480) and id-Ed25519 (RFC 8410), as they open a PKCS#8 key's algorithm."""


def _canonical_private_key(der: bytes) -> ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | None:
    """The key, when ``der`` is an EC or Ed25519 PKCS#8 v1 key exactly as cryptography (OpenSSL) writes it: then
    its form, version and algorithm are known and the DER is strict, so asn1crypto (~25 ms to import, the most of
    a ``sign-blob``'s key loading) need not read it. cosign's keys (Go's ``MarshalPKCS8PrivateKey``) are written
    the same way. Anything else, RSA included (its size is checked before cryptography's costly RSA checks), is
    ``None``: the caller classifies and checks it with asn1crypto, as before."""
    if not any(oid in der[:32] for oid in _EC_OR_ED25519_PKCS8_OIDS):
        return None
    try:
        key = serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        return None
    written = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key if written == der else None


def private_key_form(der: bytes) -> PrivateKeyForm:
    """Classify a private key DER by its second field, after the version INTEGER.

    PKCS#8: ``SEQUENCE { INTEGER version, SEQUENCE algorithm, OCTET STRING key, ... }``;
    PKCS#1: ``SEQUENCE { INTEGER 0, INTEGER modulus, ... }``;
    SEC1: ``SEQUENCE { INTEGER 1, OCTET STRING privateKey, [0] parameters, [1] publicKey }``.
    """
    from asn1crypto import core as asn1_core

    with _parsing("private key DER"):
        outer = asn1_core.load(der, strict=True)
        fields = [outer[0], outer[1]] if isinstance(outer, asn1_core.Sequence) and len(outer) >= 3 else []
    match fields:
        case [asn1_core.Integer(), asn1_core.Sequence()]:
            return PrivateKeyForm.PKCS8
        case [asn1_core.Integer(), asn1_core.Integer()]:
            return PrivateKeyForm.PKCS1
        case [asn1_core.Integer(), asn1_core.OctetString()]:
            return PrivateKeyForm.SEC1
    raise InvalidKeyError("not a private key: unexpected DER structure")


def _pkcs8_v1(der: bytes) -> tuple[bytes, bytes | None]:
    """Check a PKCS#8 key's algorithm and RSA size; return it as v1 and the v2 publicKey it dropped, if any.

    The caller must check the dropped public key against the private key.
    """
    from supplychain.keys.der import OneAsymmetricKey

    with _parsing("PKCS#8 private key"):
        info = OneAsymmetricKey.load(der, strict=True)
        version = info["version"].native
        algorithm = info["private_key_algorithm"]["algorithm"].native
        private_key = info["private_key"].native
        public_key: bytes | None = info["public_key"].native  # a whole-octet BIT STRING, or None when absent
    if version not in (0, 1):
        raise InvalidKeyError("unsupported PKCS#8 version (RFC 5958 defines v1 and v2)")
    if public_key is not None and version != 1:
        raise InvalidKeyError("malformed PKCS#8 private key: publicKey field in a v1 key")
    _check_algorithm(algorithm)
    if algorithm == "rsa":
        _check_rsa_bits(_rsa_modulus_bits(private_key))  # before cryptography's costly RSA checks
    if version == 0:
        return der, None
    with _parsing("PKCS#8 v2 private key"):
        info["version"] = 0
        info["public_key"] = None
        return info.dump(), public_key


def _rsa_modulus_bits(pkcs1_der: bytes) -> int:
    """Modulus size of a PKCS#1 ``RSAPrivateKey`` (RFC 8017 A.1.2)."""
    from asn1crypto import keys as asn1_keys

    with _parsing("RSA private key"):
        modulus: int = asn1_keys.RSAPrivateKey.load(pkcs1_der, strict=True)["modulus"].native
    return modulus.bit_length()


@contextmanager
def _parsing(what: str) -> Iterator[None]:
    """Turn asn1crypto's parse errors into ``InvalidKeyError``: it parses lazily, so any field access may raise."""
    try:
        yield
    except (ValueError, TypeError) as exc:
        raise InvalidKeyError(f"malformed or truncated {what}") from exc


def _check_public_key_field(private_key: PrivateKey, field: bytes) -> None:
    """RFC 5958 v2 keys repeat the public key; refuse a key whose copy does not match its private part."""
    public = private_key.key.public_key()
    if isinstance(public, ed25519.Ed25519PublicKey):
        candidates = [public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)]
    elif isinstance(public, ec.EllipticCurvePublicKey):
        candidates = [
            public.public_bytes(serialization.Encoding.X962, point)
            for point in (serialization.PublicFormat.UncompressedPoint, serialization.PublicFormat.CompressedPoint)
        ]
    else:
        candidates = [public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)]
    if field not in candidates:
        raise InvalidKeyError("malformed PKCS#8 v2 key: its publicKey field does not match the private key")

"""The DER structures asn1crypto lacks, for ``keys.key``: RFC 5958's ``OneAsymmetricKey`` (PKCS#8 v2) and an RFC
5280 ``SubjectPublicKeyInfo`` that keeps the key as bits.

A module apart so that asn1crypto (~40 ms to import) loads only when a key needs it: a private key being imported
or decrypted, a public key that is not in cryptography's own canonical form (``key._canonical_public_key``). A
``verify --key`` of an ordinary PKIX key never does (docs/architecture.md, "Fast start").
"""

from __future__ import annotations

from asn1crypto import core as asn1_core
from asn1crypto import keys as asn1_keys


class OneAsymmetricKey(asn1_core.Sequence):  # type: ignore[misc]  # asn1crypto ships no type hints
    """RFC 5958 section 2 ``OneAsymmetricKey``: asn1crypto's ``PrivateKeyInfo`` stops before v2's publicKey.

    ``SEQUENCE { version INTEGER (v1(0)|v2(1)), privateKeyAlgorithm AlgorithmIdentifier, privateKey OCTET STRING,
    attributes [0] IMPLICIT Attributes OPTIONAL, ..., [[2: publicKey [1] IMPLICIT PublicKey OPTIONAL ]], ... }``
    """

    _fields = [
        ("version", asn1_core.Integer),
        ("private_key_algorithm", asn1_keys.PrivateKeyAlgorithm),
        ("private_key", asn1_core.OctetString),
        ("attributes", asn1_keys.Attributes, {"implicit": 0, "optional": True}),
        ("public_key", asn1_core.OctetBitString, {"implicit": 1, "optional": True}),
    ]


class SubjectPublicKeyInfo(asn1_core.Sequence):  # type: ignore[misc]  # asn1crypto ships no type hints
    """RFC 5280 section 4.1.2.7, the key left as bits: asn1crypto's ``PublicKeyInfo`` chooses the key's parser
    by algorithm and fails with ``KeyError`` on an algorithm it does not know."""

    _fields = [("algorithm", asn1_keys.PublicKeyAlgorithm), ("public_key", asn1_core.BitString)]


__all__ = ["OneAsymmetricKey", "SubjectPublicKeyInfo"]

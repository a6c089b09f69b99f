"""Signing images the way cosign does (row 6½: store-agnostic). The formats it writes live in ``formats/``
(``gojson``, ``dsse``, ``intoto``, ``bundle``); here:

- ``payload``: cosign's simple-signing payload, byte-identical to Go's encoding, strict parsing;
- ``bundle``: the v0.3 bundle ``sign`` writes (built with ``formats.bundle``), and the OCI 1.1 referrer manifest
  that stores it;
- ``legacy``: the ``sha256-<hex>.sig`` manifest (one layer per signature, append, dedupe);
- ``writer``: appending a layer to that manifest, confirmed against concurrent writers;
- ``signature``: one signature made or checked with the hashes cosign's ecosystem expects;
- ``transparency``: what is recorded in a Rekor transparency log at sign time, and how its evidence is stored
  (the ``dev.sigstore.cosign/bundle`` annotation, the bundle's ``tlogEntries``);
- ``signer``: ``sign_image`` (and ``sign_image_keyless``) over any ``ArtifactStore``;
- ``attest``: ``attest_image``, an in-toto attestation in DSSE (bundle referrer or ``.att`` layer), signed by an
  ``EnvelopeSigner`` (``KeySigner``: a key);
- ``keyless``: keyless signing on the ``sigstore`` package (identity tokens, Fulcio, Rekor, TSA): bytes or an
  in-toto statement in, a v0.3 bundle out (``open_keyless_signer``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supplychain.lazy import lazy_exports

if TYPE_CHECKING:
    from supplychain.signing.attest import (
        Attestation,
        AttestationFormat,
        EnvelopeSigner,
        KeySigner,
        PredicateError,
        attest_image,
        build_predicate,
    )
    from supplychain.signing.error import (
        InvalidAnnotationError,
        ReferenceNameError,
        SignatureTagError,
        SignatureWriteError,
    )
    from supplychain.signing.identity import check_reference_name, cosign_reference_name, parse_annotations
    from supplychain.signing.keyless import (
        IdentityTokenError,
        KeylessConfig,
        KeylessSignature,
        KeylessSigner,
        KeylessSigningError,
        identity_token,
        keyless_config,
        open_keyless_signer,
    )
    from supplychain.signing.signer import SignatureFormat, SignedImage, SignResult, sign_image, sign_image_keyless
    from supplychain.signing.transparency import TlogUploadError, open_signing_log

__all__ = [
    "Attestation",
    "AttestationFormat",
    "EnvelopeSigner",
    "IdentityTokenError",
    "InvalidAnnotationError",
    "KeySigner",
    "KeylessConfig",
    "KeylessSignature",
    "KeylessSigner",
    "KeylessSigningError",
    "PredicateError",
    "ReferenceNameError",
    "SignResult",
    "SignatureFormat",
    "SignatureTagError",
    "SignatureWriteError",
    "SignedImage",
    "TlogUploadError",
    "attest_image",
    "build_predicate",
    "check_reference_name",
    "cosign_reference_name",
    "identity_token",
    "keyless_config",
    "open_keyless_signer",
    "open_signing_log",
    "parse_annotations",
    "sign_image",
    "sign_image_keyless",
]

# mypy reads the imports above; a module __getattr__ it could see would make every unknown name Any.
if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(__name__, {
        "supplychain.signing.attest": (
            "Attestation", "AttestationFormat", "EnvelopeSigner", "KeySigner", "PredicateError", "attest_image",
            "build_predicate",
        ),
        "supplychain.signing.error": (
            "InvalidAnnotationError", "ReferenceNameError", "SignatureTagError", "SignatureWriteError",
        ),
        "supplychain.signing.identity": ("check_reference_name", "cosign_reference_name", "parse_annotations"),
        "supplychain.signing.keyless": (
            "IdentityTokenError", "KeylessConfig", "KeylessSignature", "KeylessSigner", "KeylessSigningError",
            "identity_token", "keyless_config", "open_keyless_signer",
        ),
        "supplychain.signing.signer": ("SignResult", "SignatureFormat", "SignedImage", "sign_image",
                                       "sign_image_keyless"),
        "supplychain.signing.transparency": ("TlogUploadError", "open_signing_log"),
    })

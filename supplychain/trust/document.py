"""Sigstore's TrustedRoot v0.1 JSON document as frozen dataclasses (protobuf-specs ``sigstore_trustroot.proto``), read
by ``trust.root.TrustedRoot.parse`` from what the strict decoder (``formats.strictjson``) returned: duplicate keys,
wide numbers and deep nesting are refused before this reader runs.

A small hand-written reader, not pydantic models: every ``verify`` of a keyless signature and every ``verify-blob``
reads a trusted root, and building pydantic's validators cost ~200 ms of such a run (docs/architecture.md,
"Fast start"). The same rules as the models it replaces: the fields named here are checked for their JSON type
(strings, objects, arrays), ``hashAlgorithm`` defaults to ``SHA2_256``, lists and windows default to empty; unknown
fields are ignored (newer roots add some). A refusal is ``ValueError("<path>: <problem>")``, the path as
``tlogs.0.publicKey.rawBytes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from supplychain.formats.schema import JsonReader, path


@dataclass(frozen=True, slots=True)
class ValidForModel:
    start: str | None = None
    end: str | None = None


@dataclass(frozen=True, slots=True)
class PublicKeyModel:
    rawBytes: str
    keyDetails: str
    validFor: ValidForModel = field(default_factory=ValidForModel)


@dataclass(frozen=True, slots=True)
class LogIdModel:
    keyId: str


@dataclass(frozen=True, slots=True)
class TransparencyLogModel:
    baseUrl: str
    publicKey: PublicKeyModel
    logId: LogIdModel
    hashAlgorithm: str = "SHA2_256"


@dataclass(frozen=True, slots=True)
class RawCertificateModel:
    rawBytes: str


@dataclass(frozen=True, slots=True)
class CertChainModel:
    certificates: list[RawCertificateModel] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DistinguishedNameModel:
    organization: str = ""
    commonName: str = ""


@dataclass(frozen=True, slots=True)
class CertificateAuthorityModel:
    subject: DistinguishedNameModel = field(default_factory=DistinguishedNameModel)
    uri: str = ""
    certChain: CertChainModel = field(default_factory=CertChainModel)
    validFor: ValidForModel = field(default_factory=ValidForModel)


@dataclass(frozen=True, slots=True)
class TrustedRootModel:
    mediaType: str
    tlogs: list[TransparencyLogModel] = field(default_factory=list)
    certificateAuthorities: list[CertificateAuthorityModel] = field(default_factory=list)
    ctlogs: list[TransparencyLogModel] = field(default_factory=list)
    timestampAuthorities: list[CertificateAuthorityModel] = field(default_factory=list)


def read_trusted_root_document(document: Any) -> TrustedRootModel:
    """The ``TrustedRootModel`` of a decoded JSON document; ``ValueError("<path>: <problem>")`` if it is not one."""
    root = _read.object(document, "")
    return TrustedRootModel(
        _read.string(root, "mediaType", ""),
        [_transparency_log(item, where) for where, item in _read.objects(root, "tlogs", "", optional=True)],
        [_authority(item, where) for where, item in _read.objects(root, "certificateAuthorities", "", optional=True)],
        [_transparency_log(item, where) for where, item in _read.objects(root, "ctlogs", "", optional=True)],
        [_authority(item, where) for where, item in _read.objects(root, "timestampAuthorities", "", optional=True)],
    )


_read = JsonReader(ValueError)


def _valid_for(obj: dict[str, Any], where: str) -> ValidForModel:
    window = _read.child(obj, "validFor", where, optional=True)
    at = path(where, "validFor")
    return ValidForModel(_read.optional_string(window, "start", at), _read.optional_string(window, "end", at))


def _transparency_log(obj: dict[str, Any], where: str) -> TransparencyLogModel:
    key, key_at = _read.child(obj, "publicKey", where), path(where, "publicKey")
    return TransparencyLogModel(
        _read.string(obj, "baseUrl", where),
        PublicKeyModel(_read.string(key, "rawBytes", key_at), _read.string(key, "keyDetails", key_at),
                       _valid_for(key, key_at)),
        LogIdModel(_read.string(_read.child(obj, "logId", where), "keyId", path(where, "logId"))),
        _read.string(obj, "hashAlgorithm", where, "SHA2_256"),
    )


def _authority(obj: dict[str, Any], where: str) -> CertificateAuthorityModel:
    subject, subject_at = _read.child(obj, "subject", where, optional=True), path(where, "subject")
    chain, chain_at = _read.child(obj, "certChain", where, optional=True), path(where, "certChain")
    return CertificateAuthorityModel(
        DistinguishedNameModel(_read.string(subject, "organization", subject_at, ""),
                               _read.string(subject, "commonName", subject_at, "")),
        _read.string(obj, "uri", where, ""),
        CertChainModel([RawCertificateModel(_read.string(item, "rawBytes", at))
                        for at, item in _read.objects(chain, "certificates", chain_at, optional=True)]),
        _valid_for(obj, where),
    )


__all__ = [
    "CertChainModel",
    "CertificateAuthorityModel",
    "DistinguishedNameModel",
    "LogIdModel",
    "PublicKeyModel",
    "RawCertificateModel",
    "TransparencyLogModel",
    "TrustedRootModel",
    "ValidForModel",
    "read_trusted_root_document",
]

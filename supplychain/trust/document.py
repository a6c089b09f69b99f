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
    root = _object(document, "")
    return TrustedRootModel(
        _string(root, "mediaType", ""),
        _list(root, "tlogs", "", _transparency_log),
        _list(root, "certificateAuthorities", "", _authority),
        _list(root, "ctlogs", "", _transparency_log),
        _list(root, "timestampAuthorities", "", _authority),
    )


def _path(where: str, name: str | int) -> str:
    return f"{where}.{name}" if where else str(name)


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where or 'document'}: Input should be an object")
    return value


def _string(obj: dict[str, Any], name: str, where: str, default: str | None = None) -> str:
    if name not in obj:
        if default is None:
            raise ValueError(f"{_path(where, name)}: Field required")
        return default
    value = obj[name]
    if not isinstance(value, str):
        raise ValueError(f"{_path(where, name)}: Input should be a valid string")
    return value


def _optional_string(obj: dict[str, Any], name: str, where: str) -> str | None:
    value = obj.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{_path(where, name)}: Input should be a valid string")
    return value


def _list(obj: dict[str, Any], name: str, where: str, read: Any) -> list[Any]:
    value = obj.get(name, [])
    if not isinstance(value, list):
        raise ValueError(f"{_path(where, name)}: Input should be a valid list")
    path = _path(where, name)
    return [read(_object(item, _path(path, number)), _path(path, number)) for number, item in enumerate(value)]


def _valid_for(obj: dict[str, Any], where: str) -> ValidForModel:
    if "validFor" not in obj:
        return ValidForModel()
    window = _object(obj["validFor"], _path(where, "validFor"))
    path = _path(where, "validFor")
    return ValidForModel(_optional_string(window, "start", path), _optional_string(window, "end", path))


def _child(obj: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    if name not in obj:
        raise ValueError(f"{_path(where, name)}: Field required")
    return _object(obj[name], _path(where, name))


def _transparency_log(obj: dict[str, Any], where: str) -> TransparencyLogModel:
    key = _child(obj, "publicKey", where)
    key_path = _path(where, "publicKey")
    log_id = _child(obj, "logId", where)
    return TransparencyLogModel(
        _string(obj, "baseUrl", where),
        PublicKeyModel(_string(key, "rawBytes", key_path), _string(key, "keyDetails", key_path),
                       _valid_for(key, key_path)),
        LogIdModel(_string(log_id, "keyId", _path(where, "logId"))),
        _string(obj, "hashAlgorithm", where, "SHA2_256"),
    )


def _authority(obj: dict[str, Any], where: str) -> CertificateAuthorityModel:
    subject = _object(obj.get("subject", {}), _path(where, "subject"))
    chain = _object(obj.get("certChain", {}), _path(where, "certChain"))
    chain_path = _path(where, "certChain")
    return CertificateAuthorityModel(
        DistinguishedNameModel(_string(subject, "organization", _path(where, "subject"), ""),
                               _string(subject, "commonName", _path(where, "subject"), "")),
        _string(obj, "uri", where, ""),
        CertChainModel(_list(chain, "certificates", chain_path,
                             lambda item, path: RawCertificateModel(_string(item, "rawBytes", path)))),
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

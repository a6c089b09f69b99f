"""Sigstore's TrustedRoot v0.1 JSON document as pydantic models (protobuf-specs ``sigstore_trustroot.proto``), read
by ``trust.root.TrustedRoot.parse`` after the strict decoder has refused duplicate keys, wide numbers and deep nesting.

A module apart so that pydantic loads only when a trusted root is read (docs/architecture.md, "Fast start"): a
``verify --key`` whose evidence is from a log named by its key never reads one. Extra fields are ignored (newer
roots add some).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ValidForModel(_Wire):
    start: str | None = None
    end: str | None = None


class PublicKeyModel(_Wire):
    rawBytes: str
    keyDetails: str
    validFor: ValidForModel = Field(default_factory=ValidForModel)


class LogIdModel(_Wire):
    keyId: str


class TransparencyLogModel(_Wire):
    baseUrl: str
    hashAlgorithm: str = "SHA2_256"
    publicKey: PublicKeyModel
    logId: LogIdModel


class RawCertificateModel(_Wire):
    rawBytes: str


class CertChainModel(_Wire):
    certificates: list[RawCertificateModel] = Field(default_factory=list)


class DistinguishedNameModel(_Wire):
    organization: str = ""
    commonName: str = ""


class CertificateAuthorityModel(_Wire):
    subject: DistinguishedNameModel = Field(default_factory=DistinguishedNameModel)
    uri: str = ""
    certChain: CertChainModel = Field(default_factory=CertChainModel)
    validFor: ValidForModel = Field(default_factory=ValidForModel)


class TrustedRootModel(_Wire):
    mediaType: str
    tlogs: list[TransparencyLogModel] = Field(default_factory=list)
    certificateAuthorities: list[CertificateAuthorityModel] = Field(default_factory=list)
    ctlogs: list[TransparencyLogModel] = Field(default_factory=list)
    timestampAuthorities: list[CertificateAuthorityModel] = Field(default_factory=list)


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
]

"""Render ``attach``, ``download``, ``triangulate`` and ``clean`` results: pure functions to ``str``.

``download signature`` prints one JSON object per line, per signature, in the two shapes cosign prints:

- a legacy ``.sig`` layer as cosign's ``SignedPayload`` (``pkg/cosign/fetch.go``, Go ``json.Marshal``, field
  order kept): ``{"Base64Signature": ..., "Payload": <base64 of the payload bytes>, "Cert": null|{...},
  "Chain": null|[{...}], "Bundle": null|{"SignedEntryTimestamp", "Payload": {...}}, "RFC3161Timestamp":
  null|{"SignedRFC3161Timestamp"}}``. ``Cert`` and chain entries carry the raw parts of Go's ``x509.Certificate``
  (``Raw``, ``RawTBSCertificate``, ``RawSubjectPublicKeyInfo``, ``RawSubject``, ``RawIssuer``, ``Signature``,
  base64) and ``Version``, ``SerialNumber``, ``NotBefore``, ``NotAfter``; the decoded subject, issuer, public key
  and extensions that Go adds are left out (``Raw`` is the whole DER certificate: decode it for those);
- a Sigstore bundle referrer as cosign v3 prints it: the bundle document itself, compact (it has
  ``mediaType``, ``verificationMaterial`` and ``dsseEnvelope``/``messageSignature`` where the legacy shape has
  ``Base64Signature``: tell the two apart by those keys).

``download attestation`` prints one DSSE envelope per line, as cosign does: ``{"payloadType", "payload",
"signatures": [{"keyid", "sig"}]}`` (go-securesystemslib's field order; ``payload`` the base64 statement); a
BuildKit statement, stored unsigned, with ``"signatures": []``.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import Any, assert_never

from supplychain.attachments.artifact import AttachedArtifact, DownloadedSbom, SbomDownload
from supplychain.attachments.clean import CleanPlan, CleanResult, Deletion, LeftAlone
from supplychain.attachments.download import (
    AttestationDownload,
    BundleSignature,
    DownloadedSignature,
    LegacySignature,
    SignatureDownload,
)
from supplychain.attachments.download import Certificate as CertificateParts
from supplychain.formats.gojson import encode
from supplychain.oci.attachment import AttachmentKind
from supplychain.report.text import escape, escape_json_text
from supplychain.signing.attach import AttachedSignature

_CLEAN_PROMPT = {
    # cosign's warnings before its confirmation prompt (cmd/cosign/cli/clean.go, prompt()).
    AttachmentKind.SIGNATURE: "this will remove all signatures from the image",
    AttachmentKind.ATTESTATION: "this will remove all attestations from the image",
    AttachmentKind.SBOM: "this will remove all SBOMs from the image",
    None: "this will remove all signatures, SBOMs and attestations from the image",
}


def download_lines(download: SignatureDownload) -> list[str]:
    """One compact JSON line per signature (see the module docstring for the two shapes), with control and
    bidi characters in its strings as JSON escapes (the same value; safe on a terminal: ``report.text``)."""
    return [escape_json_text(signature_json(item)) for item in download.signatures]


def signature_json(item: DownloadedSignature) -> str:
    """One signature as the JSON line cosign prints for it."""
    match item:
        case BundleSignature():
            return encode(dict(item.bundle), sort_keys=False).decode("utf-8")
        case LegacySignature():
            doc: dict[str, Any] = {
                "Base64Signature": item.base64_signature,
                "Payload": _b64(item.payload),
                "Cert": _certificate(item.certificate) if item.certificate is not None else None,
                "Chain": [_certificate(c) for c in item.chain] if item.chain is not None else None,
                "Bundle": dict(item.rekor_bundle) if item.rekor_bundle is not None else None,
                "RFC3161Timestamp": dict(item.rfc3161_timestamp) if item.rfc3161_timestamp is not None else None,
            }
            return encode(doc, sort_keys=False).decode("utf-8")
        case _:
            assert_never(item)


def attestation_lines(download: AttestationDownload) -> list[str]:
    """One compact DSSE envelope JSON line per attestation (escaped for a terminal like ``download_lines``)."""
    return [escape_json_text(encode(dict(item.envelope), sort_keys=False).decode("utf-8"))
            for item in download.attestations]


def problem_lines(download: SignatureDownload | AttestationDownload | SbomDownload) -> list[str]:
    """stderr lines for the signatures (attestations) that could not be read."""
    return [f"warning: skipped {escape(p)}" for p in download.problems]


def _certificate(cert: CertificateParts) -> dict[str, Any]:
    """The fields of Go's ``x509.Certificate`` JSON we can give exactly (see the module docstring)."""
    return {
        "Raw": _b64(cert.raw),
        "RawTBSCertificate": _b64(cert.raw_tbs_certificate),
        "RawSubjectPublicKeyInfo": _b64(cert.raw_subject_public_key_info),
        "RawSubject": _b64(cert.raw_subject),
        "RawIssuer": _b64(cert.raw_issuer),
        "Signature": _b64(cert.signature),
        "Version": cert.version,
        "SerialNumber": cert.serial_number,
        "NotBefore": _go_time(cert.not_before),
        "NotAfter": _go_time(cert.not_after),
    }


def attached_line(result: AttachedSignature, repository: str) -> str:
    """The stderr line after ``attach signature``."""
    where = escape(f"{repository}:{result.tag}")
    if result.already_present:
        return f"Signature already attached at {where} ({result.artifact.digest}): nothing written"
    return f"Signature attached to {repository}@{result.subject.digest} at {where} ({result.artifact.digest})"


def artifact_attached_line(result: AttachedArtifact, repository: str) -> str:
    """The stderr line after ``attach sbom`` and ``attach artifact``."""
    if result.tag is not None:
        where = escape(f"{repository}:{result.tag}")
        if result.already_present:
            return f"SBOM already attached at {where} ({result.manifest.digest}): nothing written"
        return f"SBOM attached to {repository}@{result.subject.digest} at {where} ({result.manifest.digest})"
    return (f"{escape(result.artifact_type)} attached to {repository}@{result.subject.digest} as referrer "
            f"{result.manifest.digest}")


def sbom_found_line(sbom: DownloadedSbom) -> str:
    """The stderr line before each SBOM ``download sbom`` prints."""
    return f"SBOM ({escape(sbom.media_type)}, {len(sbom.content)} bytes) from {escape(sbom.location)}"


def clean_warning(plan: CleanPlan) -> str:
    """cosign's warning line before the confirmation prompt."""
    return f"WARNING: {_CLEAN_PROMPT[plan.kind]}"


def plan_lines(plan: CleanPlan, repository: str) -> list[str]:
    """What will be deleted, one line each (the referrers a damaged referrers tag hides, as one line)."""
    lines = [f"  - {escape(d.describe(repository))}" for d in plan.deletions]
    if plan.relist_referrers:
        kind = "every referrer" if plan.kind is None else f"the {plan.kind.value} referrers"
        lines.insert(1, f"  - then {kind} of {plan.subject}, listed once the damaged tag is gone")
    return lines


def removed_line(deletion: Deletion, reference: str, repository: str) -> str:
    """cosign's line after each delete: ``Removed <what> from <image>``."""
    return f"Removed {escape(deletion.describe(repository))} from {escape(reference)}"


def nothing_to_clean_line(plan: CleanPlan, reference: str) -> str:
    """The stderr note when there is nothing of ``plan.kind`` to delete."""
    what = {None: "Nothing", AttachmentKind.SIGNATURE: "No signatures", AttachmentKind.ATTESTATION: "No attestations",
            AttachmentKind.SBOM: "No SBOMs"}[plan.kind]
    return f"{what} attached to {escape(reference)} ({plan.subject}): nothing to clean"


def plan_notes(plan: CleanPlan, reference: str, repository: str) -> list[str]:
    """stderr once a clean is planned: what it will leave alone, and that there is nothing to clean if so."""
    lines = left_alone_lines(plan.left_alone, repository)
    return lines if plan.deletions else [*lines, nothing_to_clean_line(plan, reference)]


def cleaned_lines(result: CleanResult, repository: str) -> list[str]:
    """stderr after a clean: what someone else deleted first, what it left alone, the blobs it reclaimed."""
    lines = [*gone_lines(result.already_gone, repository), *left_alone_lines(result.left_alone, repository)]
    reclaimed = reclaimed_line(result, repository)
    return lines if reclaimed is None else [*lines, reclaimed]


def left_alone_lines(items: Sequence[LeftAlone], repository: str) -> list[str]:
    """Warnings for what a listing or tag named that ``clean`` did not delete (not provably an attachment)."""
    return [f"warning: left alone {item.describe(repository)}" for item in items]


def reclaimed_line(result: CleanResult, repository: str) -> str | None:
    """The note after a clean of a layout that removed the blobs it left unreachable."""
    if not result.reclaimed:
        return None
    return f"Removed {len(result.reclaimed)} unreferenced blobs from {repository}"


def gone_lines(gone: Sequence[Deletion], repository: str) -> list[str]:
    """Notes for manifests deleted by someone else between planning and deleting."""
    return [f"Already gone: {escape(d.describe(repository))}" for d in gone]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _go_time(moment: datetime) -> str:
    """Go's ``time.Time`` JSON (RFC 3339 with nanoseconds trimmed) of a UTC time."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"

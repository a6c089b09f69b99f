"""Render ``sign`` and ``verify`` results: pure functions to ``str`` (STYLE.md section 9).

stdout carries results: for ``verify`` (``-o json``, the default, as cosign's) the JSON list of an image's verified
payloads in cosign's simple-signing shape (``cosign verify`` prints exactly such a line, with the Rekor ``Bundle``
and the certificate's ``Issuer`` and ``Subject`` added to ``optional``): for one image, a line only if it verified
(as cosign); for several, exactly one line per image in the order asked (cosign prints one array per image),
``[]`` for an image that failed or could not be answered, so that line N belongs to image N. For ``-o text``,
each verified payload as compact JSON on its own line (cosign's text mode prints the payloads). stderr carries the
rest: cosign's "The following checks were performed" block, one line per image, and the reasons when an image
fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from supplychain.formats.gojson import encode
from supplychain.report.text import escape, escape_json_text
from supplychain.verify import VerificationResult

if TYPE_CHECKING:
    # Types only: ``verify`` renders through this module and must not load the signing stack (docs/architecture.md,
    # "Fast start").
    from supplychain.signing import SignedImage, SignResult
    from supplychain.signing.attest import Attestation


def verified_payloads_json(result: VerificationResult) -> str:
    """The cosign-shaped JSON list of ``result``'s verified payloads (one line, no trailing newline)."""
    payloads = [dict(s.payload) for s in result.verified_signatures if s.payload is not None]
    return encode(payloads, sort_keys=False).decode("utf-8")


def json_line(result: VerificationResult, *, several: bool) -> str | None:
    """``result``'s stdout line for ``-o json``: its verified payloads; for a failed image, ``[]`` among several
    images (one line per image) and nothing when it is the only one (cosign's shape)."""
    if result.verified:
        return verified_payloads_json(result)
    return "[]" if several else None


def verified_payloads_text(result: VerificationResult) -> list[str]:
    """Each verified payload as one compact JSON line."""
    return [escape_json_text(encode(dict(s.payload), sort_keys=False).decode("utf-8"))
            for s in result.verified_signatures if s.payload is not None]


def checks_performed_text(reference: str, descriptions: Sequence[str]) -> str:
    """cosign's stderr block naming the checks that every accepted signature passed."""
    lines = [f"\nVerification for {escape(reference)} --",
             "The following checks were performed on each of these signatures:"]
    lines += [f"  - {escape(d)}" for d in descriptions]
    return "\n".join(lines)


def image_line(result: VerificationResult) -> str:
    """One stderr line for an image: what was verified and how it went (registry-chosen text escaped)."""
    where = escape(_where(result))
    if result.error is not None:
        return f"ERROR {where}: {escape(' '.join(result.error.message.split()))}"
    if result.verified:
        good = result.verified_signatures
        sources = ", ".join(sorted({s.source.value for s in good}))
        what = "signatures" if result.predicate_type is None else f"attestations of {escape(result.predicate_type)}"
        return f"Verified OK {where}: {len(good)} of {len(result.signatures)} {what} ({sources})"
    what = "signature" if result.predicate_type is None else "attestation"
    return f"Verification FAILED {where}: no {what} verified"


def verified_envelope_lines(result: VerificationResult) -> list[str]:
    """``verify-attestation``'s stdout: each verified attestation's DSSE envelope, one compact JSON object per line
    (``{"payloadType", "payload", "signatures"}``, as ``cosign verify-attestation`` prints them)."""
    # A signature's keyid is the signer's free text: control and bidi characters become JSON escapes (same value).
    return [escape_json_text(encode(dict(s.envelope), sort_keys=False).decode("utf-8"))
            for s in result.verified_signatures if s.envelope is not None]


def attested_lines(attestation: Attestation, store_name: str, log_url: str | None) -> list[str]:
    """stderr lines for ``attest``: the transparency-log entry made, then what was stored where (or not)."""
    lines = []
    entry = attestation.tlog_entry
    if entry is not None:
        lines.append(escape(f"tlog entry created with index: {entry.log_index} (UUID {entry.uuid}, {log_url})"))
    subject = attestation.subject.digest
    kind = escape(attestation.predicate_type)
    artifact = attestation.artifact
    if artifact is None:
        lines.append(f"Attested {subject} ({kind}, {attestation.attestation_format.value}); not uploaded")
    elif attestation.tag is not None:
        lines.append(escape(f"Pushed attestation ({kind}) for {subject} to {store_name}:{attestation.tag} "
                            f"({artifact.digest})"))
    else:
        lines.append(escape(f"Pushed attestation bundle referrer {artifact.digest} ({kind}) for {subject} to "
                            f"{store_name}"))
    return lines


def failure_reasons(result: VerificationResult) -> list[str]:
    """The indented reason lines under a failed image."""
    if result.verified or result.error is not None:
        return []
    return [f"  - {escape(' '.join(reason.split()))}" for reason in result.reasons()]


def skipped_lines(result: VerificationResult) -> list[str]:
    """One stderr line per attachment that was found but is no image signature, with why (shown whatever the
    verdict, so that a bundle verify cannot use is never silently dropped)."""
    return [f"  skipped {escape(' '.join(reason.split()))}" for reason in result.skipped_reasons]


def _where(result: VerificationResult) -> str:
    if result.digest is None:
        return result.reference
    if result.resolved_from is not None:
        return f"{result.reference} ({result.digest}, resolved from tag {result.resolved_from})"
    return f"{result.reference}" if str(result.digest) in result.reference else f"{result.reference}@{result.digest}"


def signed_lines(result: SignResult, store_name: str) -> list[str]:
    """stderr lines for ``sign``: the transparency-log entry made (cosign's "tlog entry created with index"),
    then what was stored where, or that nothing was uploaded."""
    lines = []
    for image in result.images:
        if image.tlog_entry is not None:
            entry = image.tlog_entry
            lines.append(escape(f"tlog entry created with index: {entry.log_index} (UUID {entry.uuid}, "
                                f"{result.log_url})"))
        lines.append(escape(_signed_line(image, store_name, result.uploaded)))
    return lines


def sign_summary_line(reference: str, result: SignResult, store_name: str) -> str:
    """The one stderr line for an image of a several-image ``sign``: what was stored (or not), the log entry, and
    how many more manifests ``--recursive`` signed."""
    first = result.images[0]
    line = f"Signed {reference}: {_signed_line(first, store_name, result.uploaded)}"
    if first.tlog_entry is not None:
        line += f"; tlog entry index {first.tlog_entry.log_index} ({result.log_url})"
    if len(result.images) > 1:
        line += f"; and {len(result.images) - 1} manifests of the index"
    return line


def _signed_line(image: SignedImage, store_name: str, uploaded: bool) -> str:
    subject = image.subject.digest
    if not uploaded:
        return f"Signed {subject} ({image.signature_format.value}); not uploaded"
    if image.already_present:
        return f"Signature already present for {subject} in {store_name}:{image.tag}"
    artifact = image.artifact.digest if image.artifact else "?"
    if image.tag is not None:
        return f"Pushed signature for {subject} to {store_name}:{image.tag} ({artifact})"
    return f"Pushed bundle referrer {artifact} for {subject} to {store_name}"

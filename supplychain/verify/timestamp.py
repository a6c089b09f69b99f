"""RFC 3161 signed timestamps of a Sigstore bundle (``verificationMaterial.timestampVerificationData``), verified
against the trusted root's ``timestampAuthorities``: a trusted time for the signing certificate, like the log's
SET-signed ``integratedTime`` (and the only one a Rekor v2 entry, which has no SET, can have).

What must hold for each timestamp (Sigstore client spec "Signed timestamp verification"; sigstore-python
``Verifier._verify_signed_timestamp``, sigstore-go ``VerifySignedTimestamp``), with ``rfc3161-client`` doing the
RFC 3161 and CMS work: the response parses, its token is signed by an authority's TSA certificate chaining to that
authority's root (intermediates from its own chain only), its message imprint is the hash of the *signature bytes*
(the bundle's message signature or the DSSE envelope's one signature), and its ``genTime`` lies inside the
authority's ``validFor`` window. More than 32 timestamps are refused, as are duplicates (one authority's timestamp
counted twice would fake a threshold). A timestamp that does not verify is not counted (as sigstore-python and
sigstore-go skip it), but a bundle that carries timestamps none of which verifies is refused, naming why each failed:
its signer asked for trusted time and got none we trust (an untrusted TSA). Thresholds count *distinct
authorities* (CVE-2026-49834): two timestamps of one TSA are one source.

``rfc3161_client`` is imported on first use (docs/architecture.md, "Fast start").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from supplychain.formats.bundle import MAX_TIMESTAMPS
from supplychain.trust.root import CertificateAuthority


@dataclass(frozen=True, slots=True)
class VerifiedTimestamp:
    """A timestamp that verified: its time and the authority that vouched for it."""

    time: datetime  # aware UTC
    authority: CertificateAuthority


def verify_timestamps(stamps: tuple[bytes, ...], signature: bytes, authorities: tuple[CertificateAuthority, ...]
                      ) -> tuple[tuple[VerifiedTimestamp, ...], str | None]:
    """Every timestamp of ``stamps`` verified over ``signature``; or why one (or the set) is refused."""
    if not stamps:
        return (), None
    if len(stamps) > MAX_TIMESTAMPS:
        return (), f"expected at most {MAX_TIMESTAMPS} RFC 3161 timestamps, got {len(stamps)}"
    if len(set(stamps)) != len(stamps):
        return (), "expected distinct RFC 3161 timestamps, got a duplicate (one timestamp may count only once)"
    if not authorities:
        return (), ("expected a timestamp authority in the trusted root to verify the bundle's RFC 3161 "
                    "timestamps with, got none")
    verified, problems = [], []
    for number, stamp in enumerate(stamps):
        result, problem = _verify_one(stamp, signature, authorities)
        if result is None:
            problems.append(f"RFC 3161 timestamp {number}: {problem}")
        else:
            verified.append(result)
    if not verified:
        return (), "; ".join(problems)
    return tuple(verified), None


def _verify_one(stamp: bytes, signature: bytes, authorities: tuple[CertificateAuthority, ...]
                ) -> tuple[VerifiedTimestamp | None, str]:
    from rfc3161_client import VerificationError, VerifierBuilder, decode_timestamp_response

    try:
        response = decode_timestamp_response(stamp)
    except (ValueError, VerificationError) as exc:
        return None, f"expected a DER TimeStampResp, got one that does not parse: {exc}"
    gen_time = response.tst_info.gen_time
    when = gen_time.replace(tzinfo=UTC) if gen_time.tzinfo is None else gen_time.astimezone(UTC)
    problems = []
    for authority in authorities:
        leaf_first = authority.certificates
        if len(leaf_first) < 2 or not authority.roots:  # a TSA certificate and a root at least
            problems.append(f"{authority.label}: its chain is incomplete")
            continue
        builder = VerifierBuilder().tsa_certificate(leaf_first[0]).add_root_certificate(leaf_first[-1])
        for intermediate in leaf_first[1:-1]:
            builder = builder.add_intermediate_certificate(intermediate)
        try:
            builder.build().verify_message(response, signature)
        except (VerificationError, ValueError) as exc:
            problems.append(f"{authority.label}: {exc}")
            continue
        if not authority.covers(int(when.timestamp())):
            problems.append(f"{authority.label}: expected a time inside its validity window {authority.window}, "
                            f"got {when.strftime('%Y-%m-%dT%H:%M:%SZ')}")
            continue
        return VerifiedTimestamp(when, authority), ""
    return None, ("expected a timestamp signed by a trusted timestamp authority over the signature, got one that "
                  "none verifies: " + "; ".join(problems))


__all__ = ["VerifiedTimestamp", "verify_timestamps"]

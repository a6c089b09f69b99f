"""The in-toto Statement (in-toto attestation spec ``statement.md``): the one model, built for ``sign`` and read
by ``verify``, ``attachments`` and the log's ``dsse`` search index.

cosign v3 (``cosign sign`` with the new bundle format, SPECS.md "cosign v3") signs::

    {"_type":"https://in-toto.io/Statement/v1",
     "subject":[{"name":"<registry/repository>","digest":{"sha256":"<hex>"},"annotations":{...}}],
     "predicateType":"https://sigstore.dev/cosign/sign/v1",
     "predicate":{}}

with the ``-a`` annotations as the subject's ``annotations`` (an in-toto ResourceDescriptor field). Parsing
accepts Statement v1 and v0.1 (``https://in-toto.io/Statement/v0.1``, the same shape), refuses duplicate keys,
and keeps every subject: the digest claim is satisfied by any subject naming the verified digest (in-toto
``statement.md`` "subject": the statement applies to each subject).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from supplychain.digest import Digest
from supplychain.errors import InvalidDigestError
from supplychain.formats import gojson
from supplychain.formats.error import InvalidPayloadError

STATEMENT_V1 = "https://in-toto.io/Statement/v1"
STATEMENT_V01 = "https://in-toto.io/Statement/v0.1"
# The predicate type of the statement ``cosign sign`` (v3) signs for an image.
COSIGN_SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"
# cosign's own predicate types (cosign ``pkg/cosign/attestation``): ``--type custom`` wraps the predicate file's
# text as ``{"Data": <text>, "Timestamp": <RFC 3339>}``; ``vuln`` is its vulnerability-scan predicate.
COSIGN_CUSTOM_PREDICATE = "https://cosign.sigstore.dev/attestation/v1"
COSIGN_VULN_PREDICATE = "https://cosign.sigstore.dev/attestation/vuln/v1"
SPDX_PREDICATE = "https://spdx.dev/Document"
CYCLONEDX_PREDICATE = "https://cyclonedx.org/bom"
# cosign's ``--type`` aliases and the predicate type each stands for (cosign ``cmd/cosign/cli/options/predicate.go``
# ``PredicateTypeMap``); any other ``--type`` value is the predicate type URI itself.
PREDICATE_ALIASES: Mapping[str, str] = {
    "custom": COSIGN_CUSTOM_PREDICATE,
    "slsaprovenance": "https://slsa.dev/provenance/v0.2",
    "slsaprovenance02": "https://slsa.dev/provenance/v0.2",
    "slsaprovenance1": "https://slsa.dev/provenance/v1",
    "spdx": SPDX_PREDICATE,
    "spdxjson": SPDX_PREDICATE,
    "cyclonedx": CYCLONEDX_PREDICATE,
    "link": "https://in-toto.io/Link/v1",
    "vuln": COSIGN_VULN_PREDICATE,
    "openvex": "https://openvex.dev/ns",
}


def predicate_type_for(name: str) -> str:
    """The predicate type ``--type name`` means: an alias's URI, else ``name`` itself (cosign's rule)."""
    return PREDICATE_ALIASES.get(name, name)


@dataclass(frozen=True, slots=True)
class Subject:
    """An in-toto ResourceDescriptor as a statement subject: name, digests by algorithm, annotations."""

    name: str
    digests: Mapping[str, str]
    annotations: Mapping[str, Any] = field(default_factory=dict)

    def names(self, digest: Digest) -> bool:
        """Whether this subject's digest set contains ``digest`` (lowercase hex compare)."""
        return self.digests.get(digest.algorithm, "").lower() == digest.hex


@dataclass(frozen=True, slots=True)
class Statement:
    """A parsed in-toto statement."""

    type: str
    subjects: tuple[Subject, ...]
    predicate_type: str
    predicate: Any

    def subject_for(self, digest: Digest) -> Subject | None:
        """The first subject naming ``digest``, if any."""
        return next((s for s in self.subjects if s.names(digest)), None)


def build_statement(name: str, digest: Digest, annotations: Mapping[str, str] | None = None, *,
                    predicate_type: str = COSIGN_SIGN_PREDICATE, predicate: Any = None) -> bytes:
    """The statement for ``digest`` named ``name``: compact, keys in the in-toto order. By default the one cosign v3
    signs for an image (its sign predicate, ``{}``); ``attest`` gives its predicate type and predicate (a JSON
    value: an object, or a string for cosign's ``spdx`` tag-value documents)."""
    subject: dict[str, Any] = {"name": name, "digest": {digest.algorithm: digest.hex}}
    if annotations:
        subject["annotations"] = dict(sorted(annotations.items()))
    doc = {
        "_type": STATEMENT_V1,
        "subject": [subject],
        "predicateType": predicate_type,
        "predicate": {} if predicate is None else predicate,
    }
    return gojson.encode(doc, sort_keys=False)


def parse_statement(data: bytes) -> Statement:
    """Parse an in-toto statement; raise ``InvalidPayloadError`` saying what is wrong."""
    try:
        doc = gojson.decode_strict(data)
    except ValueError as exc:
        raise InvalidPayloadError(f"in-toto statement is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise InvalidPayloadError("in-toto statement is not a JSON object")
    kind = doc.get("_type")
    if kind not in (STATEMENT_V1, STATEMENT_V01):
        raise InvalidPayloadError(f"in-toto statement _type: expected {STATEMENT_V1!r}, got {kind!r}")
    predicate_type = doc.get("predicateType")
    if not isinstance(predicate_type, str) or not predicate_type:
        raise InvalidPayloadError("in-toto statement has no predicateType")
    raw_subjects = doc.get("subject")
    if not isinstance(raw_subjects, list) or not raw_subjects:
        raise InvalidPayloadError("in-toto statement has no subject list")
    subjects = tuple(_subject(item, i) for i, item in enumerate(raw_subjects))
    return Statement(kind, subjects, predicate_type, doc.get("predicate"))


def _subject(item: Any, index: int) -> Subject:
    where = f"in-toto statement subject {index}"
    if not isinstance(item, dict):
        raise InvalidPayloadError(f"{where} is not a JSON object")
    name = item.get("name", "")
    digests = item.get("digest")
    annotations = item.get("annotations") or {}
    if not isinstance(name, str):
        raise InvalidPayloadError(f"{where} name is not a string")
    if not isinstance(digests, dict) or not digests or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in digests.items()
    ):
        raise InvalidPayloadError(f"{where} digest must map algorithms to hex strings")
    if not isinstance(annotations, dict):
        raise InvalidPayloadError(f"{where} annotations must be an object")
    for algorithm in ("sha256", "sha512"):
        if algorithm in digests:
            try:
                Digest(algorithm, digests[algorithm].lower())
            except InvalidDigestError as exc:
                raise InvalidPayloadError(f"{where}: {exc.message}") from exc
    return Subject(name, dict(digests), dict(annotations))


MAX_INDEXED_SUBJECTS = 64


def subject_digests(payload: bytes) -> list[str]:
    """``<alg>:<hex>`` (lowercase) of each subject digest of a statement, best effort: what Rekor's ``dsse`` type
    indexes an entry under. Anything that is not a readable statement yields nothing (the entry is still logged,
    as Rekor logs it); at most ``MAX_INDEXED_SUBJECTS`` are returned."""
    try:
        doc = gojson.decode_strict(payload)
    except ValueError:  # not strict JSON, or nested too deeply: nothing to index
        return []
    subjects = doc.get("subject") if isinstance(doc, dict) else None
    found: list[str] = []
    for subject in subjects if isinstance(subjects, list) else []:
        digests = subject.get("digest") if isinstance(subject, dict) else None
        if isinstance(digests, dict):
            found += [f"{alg}:{value}".lower() for alg, value in digests.items() if isinstance(value, str)]
    return found[:MAX_INDEXED_SUBJECTS]


__all__ = [
    "COSIGN_CUSTOM_PREDICATE",
    "COSIGN_SIGN_PREDICATE",
    "COSIGN_VULN_PREDICATE",
    "CYCLONEDX_PREDICATE",
    "MAX_INDEXED_SUBJECTS",
    "PREDICATE_ALIASES",
    "SPDX_PREDICATE",
    "STATEMENT_V01",
    "STATEMENT_V1",
    "Statement",
    "Subject",
    "build_statement",
    "parse_statement",
    "predicate_type_for",
    "subject_digests",
]

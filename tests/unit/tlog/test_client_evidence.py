"""Entry evidence in every wire form: Sigstore bundle tlog entries (Rekor v1 and v2, real production and staging
data), cosign's Rekor bundle annotation, Rekor v1 API maps; UUIDs; offline verification and its failures."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from supplychain.formats.rekor import EntryFormatError, HashedRekord, parse_body
from supplychain.tlog.entry import EntryInclusionError, EntryTimestampError
from supplychain.tlog.evidence import (
    EntryUuidError,
    RekorEntry,
    bundle_entries,
    entry_uuid,
    parse_log_entries,
    read_evidence,
    same_entry,
    split_uuid,
    verify_entry,
)
from supplychain.tlog.kind import artifact_mismatch
from supplychain.tlog.merkle import InclusionProofError
from supplychain.tlog.note import NoteSignatureError
from supplychain.trust.error import KeyValidityError, LogEntryError
from supplychain.trust.keyring import LogKeyring, TrustedLog, public_key_keyring
from supplychain.trust.root import load_trusted_root

from .vectors import cosign_annotations, fixture_path, load_json

PRODUCTION = load_trusted_root(fixture_path("tlog", "sigstore-python", "trusted_root.production.json").read_bytes())
STAGING = load_trusted_root(fixture_path("tlog", "sigstore-python", "trusted_root.staging.json").read_bytes())
REKOR_PUB = public_key_keyring(fixture_path("tlog", "containers-image", "rekor.pub").read_bytes(),
                               "https://rekor.sigstore.dev")

BUNDLES = [
    ("sigstore-python/bundle_v3_github.whl.sigstore", PRODUCTION, True, True),
    ("sigstore-python/bundle_v3.txt.sigstore", STAGING, True, True),
    ("sigstore-python/staging-rekor-v2.txt.sigstore.json", STAGING, False, True),
    ("sigstore-python/a.dsse.staging-rekor-v2.txt.sigstore.json", STAGING, False, True),
    ("sigstore-rs/bundle_v03.json", PRODUCTION, True, True),
    ("cosign/oci-attestation.sigstore.json", PRODUCTION, True, True),
    ("sigstore-go/dsse.sigstore.json", PRODUCTION, True, False),
]
# Entries without a SET have no signed time: their log key is checked at "now", here a time inside the windows of
# the staging Rekor v2 keys that made them (log2025-alpha1 until 2025-09-04, log2025-alpha3 from 2025-09-22).
NOW = {
    "sigstore-python/staging-rekor-v2.txt.sigstore.json": datetime(2025, 7, 1, tzinfo=UTC).timestamp(),
    "sigstore-python/a.dsse.staging-rekor-v2.txt.sigstore.json": datetime(2025, 10, 1, tzinfo=UTC).timestamp(),
}


def raw(path: str) -> bytes:
    return fixture_path("tlog", *path.split("/")).read_bytes()


@pytest.mark.parametrize(("path", "keyring", "has_set", "has_proof"), BUNDLES, ids=[b[0] for b in BUNDLES])
def test_real_bundles_verify(path: str, keyring: Any, has_set: bool, has_proof: bool) -> None:
    (entry,) = bundle_entries(raw(path))
    now = NOW.get(path, datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    result = verify_entry(entry, keyring, clock=lambda: now)
    assert result.timestamp_verified is has_set
    assert (result.checkpoint is not None) is has_proof
    assert result.time_checked  # at the signed integratedTime, or (Rekor v2: no SET, no time) at "now"
    assert result.integrated_time == (entry.entry.integrated_time if has_set else None)
    assert result.checked_at == (entry.entry.integrated_time if has_set else int(now))
    assert entry.uuid == entry_uuid(entry.entry.body)
    assert read_evidence(raw(path)) == [entry]


def test_proof_without_checkpoint_proves_nothing() -> None:
    """A v0.2 bundle must carry the checkpoint (refused as a bundle); and an entry whose proof has none (from
    another form) cannot be verified by the proof."""
    data = raw("sigstore-python/bundle_no_checkpoint.txt.sigstore")
    with pytest.raises(EntryFormatError, match=r"tlogEntries\[0\]\.inclusionProof of a v0\.2 bundle has no checkpoint"):
        bundle_entries(data)
    document = json.loads(data)
    document["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.1"  # v0.1: the SET suffices
    (entry,) = bundle_entries(json.dumps(document))
    with pytest.raises(EntryInclusionError, match="no checkpoint"):
        verify_entry(entry, STAGING)


# -- what each bundle version requires (protobuf-specs sigstore_bundle.proto; sigstore-js assertBundleV0x) --------

V03 = "sigstore-python/bundle_v3.txt.sigstore"  # application/vnd.dev.sigstore.bundle.v0.3+json
V02 = "sigstore-python/bundle_v3_github.whl.sigstore"  # application/vnd.dev.sigstore.bundle+json;version=0.2
V01 = "sigstore-python/bundle.txt.sigstore"  # application/vnd.dev.sigstore.bundle+json;version=0.1


def edited(path: str, edit: Any) -> str:
    document = load_json("tlog", *path.split("/"))
    edit(document["verificationMaterial"]["tlogEntries"][0])
    return json.dumps(document)


@pytest.mark.parametrize("path", [V03, V02, "sigstore-python/bundle_v3_alt.txt.sigstore"])
def test_v02_and_later_bundles_need_the_inclusion_proof(path: str) -> None:
    """sigstore-js refuses such a bundle ("invalid bundle"); so do we, and the SET does not make up for it."""
    missing = r"tlogEntries\[0\] of a v0\.[23] bundle has no inclusionProof"
    with pytest.raises(EntryFormatError, match=missing) as caught:
        bundle_entries(edited(path, lambda t: t.pop("inclusionProof")))
    assert "inclusion proof and its checkpoint" in caught.value.hint
    with pytest.raises(EntryFormatError, match="has no inclusionProof"):
        read_evidence(edited(path, lambda t: t.pop("inclusionProof")).encode())  # `tlog verify --bundle`
    with pytest.raises(EntryFormatError, match="has no checkpoint"):
        bundle_entries(edited(path, lambda t: t["inclusionProof"].pop("checkpoint")))
    (entry,) = bundle_entries(edited(path, lambda t: t.pop("inclusionPromise")))  # the promise is optional
    assert entry.signed_entry_timestamp is None and entry.inclusion_proof is not None


def test_v01_bundles_need_the_inclusion_promise() -> None:
    with pytest.raises(EntryFormatError, match=r"tlogEntries\[0\] of a v0\.1 bundle has no inclusionPromise"):
        bundle_entries(edited(V01, lambda t: t.pop("inclusionPromise")))
    (entry,) = bundle_entries(edited(V01, lambda t: t.pop("inclusionProof")))  # the proof is optional
    assert entry.signed_entry_timestamp is not None and entry.inclusion_proof is None
    assert verify_entry(entry, STAGING).timestamp_verified


def test_cosign_annotation_keeps_its_set_only_form() -> None:
    annotation = cosign_annotations("tlog", "containers-image", "dir-img-cosign-key-rekor-valid", "signature-1")
    (entry,) = read_evidence(annotation["dev.sigstore.cosign/bundle"].encode())
    assert entry.inclusion_proof is None and verify_entry(entry, REKOR_PUB).timestamp_verified


@pytest.mark.parametrize("media_type", ["application/vnd.dev.sigstore.bundle.v0.4+json",
                                        "application/vnd.dev.sigstore.bundle+json;version=0.9",
                                        "application/vnd.dev.sigstore.bundlex"])
def test_unknown_bundle_versions_are_refused(media_type: str) -> None:
    document = load_json("tlog", *V03.split("/"))
    document["mediaType"] = media_type
    with pytest.raises(EntryFormatError, match=r"is not a Sigstore bundle v0\.1 to v0\.3"):
        bundle_entries(json.dumps(document))


# -- which time the log key's validity window is checked at ---------------------------------------------------


def windowed(keyring: Any, start: str, end: str) -> Any:
    """``keyring`` with its log keys valid only from ``start`` to ``end`` (RFC 3339)."""
    def seconds(text: str) -> int:
        return int(datetime.fromisoformat(text).timestamp())

    return LogKeyring(tuple(TrustedLog(log.base_url, log.key, seconds(start), seconds(end)) for log in keyring))


def test_unsigned_integrated_time_never_decides_the_key_window() -> None:
    """The attack: a genuine entry (logged 2024) is refused by a key valid only 2020-2021; dropping the SET and
    writing a time inside the window must not make it pass, since nothing signs integratedTime then."""
    now = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    old_key = windowed(STAGING, "2020-01-01T00:00:00+00:00", "2021-12-31T23:59:59+00:00")
    (genuine,) = bundle_entries(raw(V03))
    with pytest.raises(KeyValidityError, match="integration time 2024-04-02T19:19:09Z is outside the validity window"):
        verify_entry(genuine, old_key, clock=lambda: now)

    def forge(t: dict[str, Any]) -> None:
        t.pop("inclusionPromise")
        t["integratedTime"] = "1593561600"  # 2020-07-01

    (forged,) = bundle_entries(edited(V03, forge))
    assert forged.entry.integrated_time == 1593561600
    with pytest.raises(KeyValidityError, match="no signed integration time; the current time 2026-01-01") as caught:
        verify_entry(forged, old_key, clock=lambda: now)
    assert "its log key must be valid now" in caught.value.hint
    with pytest.raises(KeyValidityError):  # what `tlog verify --bundle` does: the real clock, today
        verify_entry(read_evidence(edited(V03, forge).encode())[0], old_key)
    # The forged time is also refused with the SET in place: the SET covers integratedTime.
    (tampered,) = bundle_entries(edited(V03, lambda t: t.update(integratedTime="1593561600")))
    with pytest.raises(EntryTimestampError):
        verify_entry(tampered, old_key, clock=lambda: now)


def test_without_a_set_the_key_is_checked_at_the_current_time() -> None:
    """The genuine cases: a proof-only entry verifies while its key is valid now, whatever integratedTime says,
    and reports no trusted time; with the SET, the signed time is the one checked (even when "now" is not)."""
    (entry,) = bundle_entries(edited(V03, lambda t: t.pop("inclusionPromise")))
    valid_now = windowed(STAGING, "2021-01-01T00:00:00+00:00", "2030-01-01T00:00:00+00:00")
    result = verify_entry(entry, valid_now, clock=lambda: datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    assert not result.timestamp_verified and result.checkpoint is not None
    assert result.integrated_time is None and result.checked_at == int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    assert "no signed integration time: log key validity checked at the current time (2026-01-01T00:00:00Z)" in (
        result.summary())
    with pytest.raises(KeyValidityError, match="the current time 2031-"):
        verify_entry(entry, valid_now, clock=lambda: datetime(2031, 1, 1, tzinfo=UTC).timestamp())

    (signed,) = bundle_entries(raw(V03))
    later = verify_entry(signed, valid_now, clock=lambda: datetime(2031, 1, 1, tzinfo=UTC).timestamp())
    assert later.integrated_time == signed.entry.integrated_time == later.checked_at
    assert "current time" not in later.summary()


def test_cosign_annotation_and_rekor_maps() -> None:
    annotation = cosign_annotations("tlog", "containers-image", "dir-img-cosign-key-rekor-valid", "signature-1")
    (entry,) = read_evidence(annotation["dev.sigstore.cosign/bundle"].encode())
    assert verify_entry(entry, REKOR_PUB).timestamp_verified
    assert entry.kind == "hashedrekord"
    with pytest.raises(EntryTimestampError):
        verify_entry(RekorEntry(entry.uuid, entry.entry, b"\x30\x00"), REKOR_PUB)
    # the Rekor v1 API form round-trips (what `tlog get -o json` prints)
    assert read_evidence(json.dumps(entry.to_wire()).encode()) == [entry]
    assert entry.to_rekor_bundle().to_json() == annotation["dev.sigstore.cosign/bundle"]


def test_kind_version_must_match_the_body() -> None:
    document = load_json("tlog", "sigstore-python", "bundle_v3.txt.sigstore")
    document["verificationMaterial"]["tlogEntries"][0]["kindVersion"]["kind"] = "intoto"
    with pytest.raises(EntryFormatError, match="says intoto"):
        bundle_entries(json.dumps(document))


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t.update(logIndex="-x"),
        lambda t: t.update(canonicalizedBody="!!"),
        lambda t: t["inclusionProof"].update(hashes=["not base64!"]),
        lambda t: t.pop("logId"),
    ],
    ids=["index", "body", "hash", "log-id"],
)
def test_malformed_bundle_entries(edit: Any) -> None:
    document = load_json("tlog", "sigstore-python", "bundle_v3.txt.sigstore")
    edit(document["verificationMaterial"]["tlogEntries"][0])
    with pytest.raises(EntryFormatError):
        bundle_entries(json.dumps(document))


def test_tampered_bundle_proof_and_checkpoint() -> None:
    document = load_json("tlog", "sigstore-python", "bundle_v3_github.whl.sigstore")
    proof = document["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
    proof["hashes"][0] = base64.b64encode(bytes(32)).decode()
    (entry,) = bundle_entries(json.dumps(document))
    with pytest.raises(InclusionProofError):
        verify_entry(entry, PRODUCTION)
    document = load_json("tlog", "sigstore-python", "bundle_v3_github.whl.sigstore")
    envelope = document["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]
    envelope["envelope"] = envelope["envelope"].replace("— rekor.sigstore.dev wNI9aj", "— rekor.sigstore.dev wNI9ak")
    (entry,) = bundle_entries(json.dumps(document))
    with pytest.raises(NoteSignatureError):
        verify_entry(entry, PRODUCTION)


def test_entry_without_evidence() -> None:
    (entry,) = bundle_entries(raw("sigstore-python/bundle_v3.txt.sigstore"))
    bare = RekorEntry(entry.uuid, entry.entry)
    with pytest.raises(LogEntryError, match="neither"):
        verify_entry(bare, STAGING)
    with pytest.raises(EntryInclusionError, match="no inclusion proof"):
        verify_entry(RekorEntry(entry.uuid, entry.entry, entry.signed_entry_timestamp), STAGING, require_inclusion=True)


def test_entry_body_not_matching_the_artifact() -> None:
    (entry,) = bundle_entries(raw("sigstore-python/bundle_v3.txt.sigstore"))
    record = parse_body(entry.entry.body)
    assert isinstance(record, HashedRekord)
    assert artifact_mismatch(entry.entry.body, "sha256", record.digest) is None
    assert "the artifact is sha256:00" in (artifact_mismatch(entry.entry.body, "sha256", bytes(32)) or "")
    (dsse,) = bundle_entries(raw("sigstore-python/a.dsse.staging-rekor-v2.txt.sigstore.json"))
    assert artifact_mismatch(dsse.entry.body, "sha256", record.digest) is not None


def test_uuids() -> None:
    body = b"{}"
    leaf = entry_uuid(body)
    with_tree = entry_uuid(body, 6364419738405537866)
    assert len(leaf) == 64 and len(with_tree) == 80 and with_tree.endswith(leaf)
    assert split_uuid(with_tree) == (6364419738405537866, bytes.fromhex(leaf))
    assert same_entry(leaf, with_tree) and same_entry(with_tree, leaf)
    assert not same_entry(entry_uuid(body, 1), with_tree)
    for bad in ("", "ab", leaf.upper(), leaf + "0", "zz" * 32):
        with pytest.raises(EntryUuidError):
            split_uuid(bad)


def test_rekor_map_with_a_wrong_uuid() -> None:
    (entry,) = bundle_entries(raw("sigstore-python/bundle_v3.txt.sigstore"))
    wire = entry.to_wire()
    value = wire.pop(entry.uuid)
    with pytest.raises(EntryUuidError, match="not the leaf hash"):
        parse_log_entries({"ab" * 32: value})
    assert parse_log_entries({entry.uuid.upper(): value})[0].uuid == entry.uuid


def test_unrecognised_evidence() -> None:
    for data in (b"[]", b"{}", b"not json", b'{"x": 1}'):
        with pytest.raises(EntryFormatError):
            read_evidence(data)


DEEP = [b"[" * 100_000 + b"]" * 100_000,
        b'{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","x":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"' + b"ab" * 32 + b'":' + b'{"a":' * 100_000]


@pytest.mark.parametrize("data", DEEP, ids=["array", "bundle", "entry-map"])
def test_evidence_nested_too_deeply_is_a_format_error(data: bytes) -> None:
    """`tlog verify --bundle deep.json` used to exit 70 with a RecursionError from read_evidence."""
    with pytest.raises(EntryFormatError, match="the evidence is not JSON: arrays and objects nest too deeply"):
        read_evidence(data)
    with pytest.raises(EntryFormatError, match="not a Sigstore bundle"):
        bundle_entries(data)


def test_rekor_v2_entry_of_a_retired_key_has_no_time_to_be_checked_at() -> None:
    """Rekor v2 entries carry no SET (their time would come from an RFC 3161 timestamp, not verified here): an
    entry of log2025-alpha1, whose key was retired on 2025-09-04, is refused after that, as its time is unknown."""
    (entry,) = bundle_entries(raw("sigstore-python/staging-rekor-v2.txt.sigstore.json"))
    assert entry.entry.integrated_time == 0 and entry.signed_entry_timestamp is None
    assert verify_entry(entry, STAGING, clock=lambda: datetime(2025, 9, 4, tzinfo=UTC).timestamp()).checkpoint
    with pytest.raises(KeyValidityError, match="the current time 2025-09-05T00:00:00Z is outside the validity window"):
        verify_entry(entry, STAGING, clock=lambda: datetime(2025, 9, 5, tzinfo=UTC).timestamp())

"""Trusted roots, single log keys and key validity windows (with an injected clock where time matters)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from supplychain.errors import ConfigurationError, ExitCode
from supplychain.tlog.evidence import bundle_entries, verify_entry
from supplychain.trust.error import KeyValidityError, TrustedRootError, UnknownLogError
from supplychain.trust.keyring import PUBLIC_GOOD_URL, LogKeyring, TrustedLog, public_key_keyring
from supplychain.trust.root import TrustedRoot, load_trusted_root, select_keyring
from tests.unit.tlog.vectors import fixture_path, load_json

PRODUCTION = ("tlog", "sigstore-python", "trusted_root.production.json")
STAGING = ("tlog", "sigstore-python", "trusted_root.staging.json")
REKOR_V1_PRODUCTION_ID = "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"


def root_bytes(*path: str) -> bytes:
    return fixture_path(*path).read_bytes()


def edited_root(*path: str, edit: Any) -> bytes:
    document = load_json(*path)
    edit(document)
    return json.dumps(document).encode()


def test_production_root_keys_and_ids() -> None:
    keyring = load_trusted_root(root_bytes(*PRODUCTION))
    by_url = {log.base_url: log for log in keyring}
    assert set(by_url) == {"https://rekor.sigstore.dev", "https://log2025-1.rekor.sigstore.dev"}
    v1 = by_url["https://rekor.sigstore.dev"]
    assert v1.key.log_id_hex == REKOR_V1_PRODUCTION_ID and v1.key.name is None
    assert v1.valid_from == 1610452407 and v1.valid_until is None
    v2 = by_url["https://log2025-1.rekor.sigstore.dev"]
    assert v2.key.name == "log2025-1.rekor.sigstore.dev"  # Rekor v2: C2SP key hash under the host name
    assert keyring.find(REKOR_V1_PRODUCTION_ID) is v1
    assert len(keyring.for_url("https://rekor.sigstore.dev/")) == 1


def test_the_sigstore_package_ships_the_same_production_root() -> None:
    shipped = TrustedRoot.production().tlog_keyring()
    assert [log.key.log_id for log in shipped] == [log.key.log_id for log in load_trusted_root(root_bytes(*PRODUCTION))]
    assert len(TrustedRoot.staging().tlog_keyring()) >= 2


def test_staging_windows_end() -> None:
    keyring = load_trusted_root(root_bytes(*STAGING))
    alpha1 = next(log for log in keyring if "alpha1" in log.base_url)
    assert alpha1.valid_until is not None
    assert alpha1.covers(alpha1.valid_until) and not alpha1.covers(alpha1.valid_until + 1)
    assert not alpha1.covers(alpha1.valid_from - 1) if alpha1.valid_from else True
    assert alpha1 not in keyring.valid_at(alpha1.valid_until + 1)


def test_entry_time_outside_the_window_fails() -> None:
    """A real production entry: valid under the real window, refused when the key's window ends before it."""
    entry = bundle_entries(root_bytes("tlog", "sigstore-python", "bundle_v3_github.whl.sigstore"))[0]
    keyring = load_trusted_root(root_bytes(*PRODUCTION))
    assert verify_entry(entry, keyring).time_checked

    def end_early(document: dict[str, Any]) -> None:
        document["tlogs"][0]["publicKey"]["validFor"]["end"] = "2022-01-01T00:00:00Z"

    expired = load_trusted_root(edited_root(*PRODUCTION, edit=end_early))
    with pytest.raises(KeyValidityError, match="outside the validity window") as caught:
        verify_entry(entry, expired)
    assert caught.value.exit_code == ExitCode.VERIFICATION_FAILED

    def start_late(document: dict[str, Any]) -> None:
        document["tlogs"][0]["publicKey"]["validFor"]["start"] = "2030-01-01T00:00:00.000Z"

    with pytest.raises(KeyValidityError):
        verify_entry(entry, load_trusted_root(edited_root(*PRODUCTION, edit=start_late)))


def test_unknown_log() -> None:
    entry = bundle_entries(root_bytes("tlog", "sigstore-python", "bundle_v3_github.whl.sigstore"))[0]
    with pytest.raises(UnknownLogError, match="no trusted key"):
        verify_entry(entry, load_trusted_root(root_bytes(*STAGING)))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(mediaType="application/json"), "media type"),
        (lambda d: d["tlogs"][0]["logId"].update(keyId=base64.b64encode(b"x" * 32).decode()), "does not match"),
        (lambda d: d["tlogs"][0]["publicKey"].update(rawBytes="!!"), "base64"),
        (lambda d: d["tlogs"][0]["publicKey"]["validFor"].update(start="yesterday"), "RFC 3339"),
        (lambda d: d.update(tlogs=[]), "no usable"),
        (lambda d: d.pop("tlogs") and d.update(tlogs="x"), "not a trusted root"),
    ],
    ids=["media-type", "log-id", "base64", "time", "empty", "shape"],
)
def test_bad_roots(edit: Any, message: str) -> None:
    with pytest.raises(TrustedRootError, match=message):
        load_trusted_root(edited_root(*PRODUCTION, edit=edit))


# -- the whole TrustedRoot: certificate authorities, CT logs, timestamp authorities (issue 7, item 6) -------------


def test_every_window_of_the_production_root_is_kept() -> None:
    """Sigstore's real root retired its 2021 Fulcio CA and its first CT log in 2022: the model keeps those ends
    (not only the tlogs' windows), and each entry's ``covers`` applies its own window."""
    root = TrustedRoot.parse(root_bytes(*PRODUCTION), source="production")
    fulcio_2021, fulcio_2022 = root.certificate_authorities
    assert fulcio_2021.uri == "https://fulcio.sigstore.dev" and fulcio_2021.name == "sigstore.dev sigstore"
    assert fulcio_2021.window == "2021-03-07T03:20:29Z .. 2022-12-31T23:59:59Z"
    assert (len(fulcio_2021.roots), len(fulcio_2021.intermediates)) == (1, 0)
    assert (len(fulcio_2022.roots), len(fulcio_2022.intermediates)) == (1, 1) and fulcio_2022.valid_until is None
    assert fulcio_2021.where == "production certificateAuthorities[0]"
    end_2022 = 1672531199  # 2022-12-31T23:59:59.999Z, rounded inwards
    assert fulcio_2021.covers(end_2022) and not fulcio_2021.covers(end_2022 + 1)
    assert not fulcio_2022.covers(fulcio_2022.valid_from - 1) and fulcio_2022.covers(4_000_000_000)

    test_ct, ct_2022 = root.ctlogs
    assert test_ct.base_url == "https://ctfe.sigstore.dev/test" and test_ct.valid_until == 1667260799
    assert not test_ct.covers(test_ct.valid_until + 1) and ct_2022.valid_until is None
    assert len(root.ctlogs.valid_at(1_700_000_000)) == 1
    (tsa,) = root.timestamp_authorities
    assert tsa.uri == "https://timestamp.sigstore.dev/api/v1/timestamp"
    assert tsa.window == "2025-07-04T00:00:00Z .. (open)"
    assert not tsa.covers(tsa.valid_from - 1) and len(tsa.certificates) == 2
    assert [log.key.log_id for log in root.tlogs] == [log.key.log_id for log in load_trusted_root(
        root_bytes(*PRODUCTION))]


def test_fractional_window_bounds_round_inwards() -> None:
    def fractions(document: dict[str, Any]) -> None:
        document["certificateAuthorities"][1]["validFor"] = {"start": "2022-04-13T20:06:15.5Z",
                                                              "end": "2023-01-01T00:00:00.5Z"}

    authority = TrustedRoot.parse(edited_root(*PRODUCTION, edit=fractions)).certificate_authorities[1]
    assert (authority.valid_from, authority.valid_until) == (1649880376, 1672531200)


def test_a_root_of_certificate_authorities_only() -> None:
    """A BYO trusted root may list CAs and no log (verify --insecure-ignore-tlog): it parses, and only asking it for
    log keys is an error."""
    root = TrustedRoot.parse(edited_root(*PRODUCTION, edit=lambda d: d.update(tlogs=[], ctlogs=[])))
    assert len(root.certificate_authorities) == 2 and not len(root.tlogs) and not len(root.ctlogs)
    with pytest.raises(TrustedRootError, match="no usable transparency log key"):
        root.tlog_keyring()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["certificateAuthorities"][0]["certChain"]["certificates"][0].update(rawBytes="AAAA"),
         r"certificateAuthorities\[0\] certChain.certificates\[0\] is not a DER certificate"),
        (lambda d: d["certificateAuthorities"][1]["validFor"].update(end="soon"), "RFC 3339"),
        (lambda d: d["timestampAuthorities"][0]["validFor"].update(start="2025-07-04T00:00:00"), "no time zone"),
        (lambda d: d["ctlogs"][0]["logId"].update(keyId=base64.b64encode(b"x" * 32).decode()),
         r"ctlogs\[0\]: declared log ID"),
    ],
    ids=["certificate", "ca-window", "tsa-window", "ctlog-id"],
)
def test_bad_authorities_and_ct_logs(edit: Any, message: str) -> None:
    with pytest.raises(TrustedRootError, match=message):
        TrustedRoot.parse(edited_root(*PRODUCTION, edit=edit))


def test_unsupported_key_types_are_skipped() -> None:
    def rsa(document: dict[str, Any]) -> None:
        document["tlogs"][1]["publicKey"]["keyDetails"] = "PKIX_RSA_PKCS1V15_2048_SHA256"

    keyring = load_trusted_root(edited_root(*PRODUCTION, edit=rsa))
    assert [log.base_url for log in keyring] == ["https://rekor.sigstore.dev"]


def test_window_boundaries_with_a_clock() -> None:
    key = public_key_keyring(root_bytes("tlog", "containers-image", "rekor.pub"), PUBLIC_GOOD_URL).logs[0].key
    log = TrustedLog("https://log.test", key, valid_from=100, valid_until=200)
    keyring = LogKeyring((log,))
    assert [t for t in (99, 100, 200, 201) if log.covers(t)] == [100, 200]
    assert len(keyring.valid_at(150)) == 1 and len(keyring.valid_at(250)) == 0
    keyring.key_for(key.log_id, 150)
    keyring.key_for(key.log_id, 0)  # unknown time (Rekor v2): not checked here
    with pytest.raises(KeyValidityError):
        keyring.key_for(key.log_id, 201)


def test_select_keyring(tmp_path: Path) -> None:
    pub = fixture_path("tlog", "containers-image", "rekor.pub")
    only = select_keyring("http://127.0.0.1:3000/", pub, None)
    assert [log.base_url for log in only] == ["http://127.0.0.1:3000"]
    assert len(select_keyring(None, None, fixture_path(*STAGING))) >= 2
    assert select_keyring(None, None, None).find(REKOR_V1_PRODUCTION_ID)  # public good: sigstore's root
    with pytest.raises(ConfigurationError, match="no key for the transparency log"):
        select_keyring("http://127.0.0.1:3000", None, None)
    with pytest.raises(ConfigurationError, match="cannot read"):
        select_keyring(None, tmp_path / "missing.pub", None)
    bad = tmp_path / "bad.pub"
    bad.write_bytes(b"not a key")
    with pytest.raises(ConfigurationError, match="cannot read the log public key"):
        select_keyring(None, bad, None)


def test_a_deferred_part_of_a_keyring_is_read_only_when_a_lookup_misses() -> None:
    # verify's default trust: the local default log's key, with Sigstore's root read only for another log's entry.
    production_entry = bundle_entries(root_bytes("tlog", "sigstore-python", "bundle_v3_github.whl.sigstore"))[0]
    staging = load_trusted_root(root_bytes(*STAGING))
    reads: list[str] = []

    def production() -> LogKeyring:
        reads.append("production")
        return load_trusted_root(root_bytes(*PRODUCTION))

    keyring = LogKeyring(staging.logs, deferred=production)
    assert keyring.find(staging.logs[0].key.log_id) is staging.logs[0]
    assert reads == []  # found among its own keys: the deferred ones were not read
    assert verify_entry(production_entry, keyring).time_checked  # a miss reads them, and the entry verifies
    assert reads == ["production"]
    assert len(keyring) == len(staging) + len(load_trusted_root(root_bytes(*PRODUCTION)))
    assert list(keyring)[: len(staging)] == list(staging.logs)  # its own keys first, as a lookup tries them

    with pytest.raises(UnknownLogError, match="no trusted key"):
        LogKeyring(staging.logs, deferred=lambda: LogKeyring(())).find(production_entry.entry.log_id)

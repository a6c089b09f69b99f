"""Recording a signature in a Rekor transparency log at sign time (cosign's ``--tlog-upload``), and the forms the
log's evidence takes in what ``sign`` stores.

What is logged, as cosign v2/v3 log it (Rekor ``pkg/types``):

* legacy ``.sig`` layer: a ``hashedrekord`` 0.0.1 entry: SHA-256 of the simple-signing payload, the signature over
  it, and the signer's public key PEM. The log's answer is stored as cosign's Rekor bundle in the layer annotation
  ``dev.sigstore.cosign/bundle`` (``{"SignedEntryTimestamp", "Payload": {"body", "integratedTime", "logIndex",
  "logID"}}``; cosign ``pkg/cosign/bundle/rekor.go``), which containers/image and ``verify`` check offline;
* Sigstore bundle: a ``dsse`` 0.0.1 entry of the DSSE envelope, and the log's answer as a ``TransparencyLogEntry``
  in the bundle's ``verificationMaterial.tlogEntries`` (protobuf-specs ``sigstore_rekor.proto``, protojson: int64
  as decimal strings, bytes as standard base64) with its inclusion promise (the SET) and inclusion proof (with the
  checkpoint), as sigstore-go and sigstore-js require of v0.2+ bundles.

Which key checks the log's answers at sign time (``open_signing_log``): ``--rekor-public-key``, else the logs of
``--trusted-root``, else, for the public-good instance, Sigstore's production trusted root. A log on this machine
(a loopback address, e.g. ``supplychain tlog serve``) may instead be trusted on first use: its own
``GET /api/v1/log/publicKey`` is fetched and used. That is acceptable only for a loopback log, which the user runs
and reaches without a network in between; for any other log, trusting the key it serves would let whoever answers
in its place vouch for itself, so its key must be named. Even then the advertised key is trusted only once the log's
current checkpoint verifies with it, before anything is uploaded: a log that signs with another key than the one it
advertises (a swapped ``log.key``/``log.pub``, issue 8 item 3) would record the signature under a key no verifier
holds, so it is refused (``UntrustedLogKeyError``) and nothing is logged or stored.

With no log URL, ``sign`` records signatures in the embedded default log (``open_default_log``): the local log in
the user's data directory, appended to in-process (``tlog.server.embedded``), whose key ``verify`` trusts by default.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from supplychain import transport
from supplychain.config import Settings
from supplychain.errors import InvalidInputError, VerificationError
from supplychain.formats.dsse import Envelope
from supplychain.formats.rekor import HashedRekord
from supplychain.keys import PrivateKey, PublicKey
from supplychain.tlog.client import EntryLog, RekorClient, VerifiedEntry
from supplychain.tlog.evidence import RekorEntry
from supplychain.tlog.note import SignedNoteError
from supplychain.trust.keyring import LogKeyring, TrustedLog, display_url
from supplychain.trust.root import select_keyring

if TYPE_CHECKING:
    from supplychain.tlog.server.embedded import EmbeddedLog


class UntrustedLogKeyError(VerificationError):
    """A loopback log whose checkpoint is not signed by the key it advertises: not trusted on first use."""

    default_hint = ("the log signs with another key than the one it serves at /api/v1/log/publicKey (its log.key and "
                    "log.pub disagree?): restart it with `supplychain tlog serve` (which refuses such a log), or "
                    "name the key to trust with --rekor-public-key")


# What ``sign`` records signatures in: a ``RekorClient`` (a served log, the public Rekor) or the embedded default
# log (``tlog.server.embedded.EmbeddedLog``); both check the log's answers before returning them.
SigningLog = EntryLog


class TlogUploadError(InvalidInputError):
    """A signature that cannot be recorded in the transparency log as asked."""

    default_hint = "use an ECDSA or RSA key, sign with --format bundle, or skip the log with --no-tlog-upload"


def check_loggable(private_key: PrivateKey, *, legacy: bool) -> None:
    """Refuse, before anything is signed or written, a key the log cannot take for this format.

    A ``hashedrekord`` signature is over a digest: Rekor verifies an Ed25519 one as Ed25519ph, which cosign does
    not produce and the local log does not implement (``supplychain.tlog.kind``). DSSE entries take Ed25519.
    """
    if legacy and private_key.algorithm == "ed25519":
        raise TlogUploadError(
            "an Ed25519 signature over a payload cannot be logged as a hashedrekord entry (Rekor needs Ed25519ph)"
        )


def hashedrekord_for(payload: bytes, signature: bytes, public_key: PublicKey) -> HashedRekord:
    """cosign's legacy entry: SHA-256 of ``payload``, the raw ``signature`` over it, the public key PEM."""
    return HashedRekord("sha256", hashlib.sha256(payload).digest(), signature, public_key.pem())


def log_legacy_signature(log: SigningLog, payload: bytes, signature: bytes, public_key: PublicKey, *,
                         verifier_pem: bytes | None = None) -> RekorEntry:
    """Upload the ``hashedrekord`` of one legacy signature; the verified entry (the client checked the logged
    body is ours and its SET and inclusion proof verify with the log's key). ``verifier_pem``: the signing
    certificate's PEM, logged instead of the public key (BYO PKI, as cosign logs a certificate)."""
    record = hashedrekord_for(payload, signature, public_key)
    if verifier_pem is not None:
        record = HashedRekord(record.algorithm, record.digest, record.signature, verifier_pem)
    return _entry(log.create_hashedrekord(record))


def log_envelope(log: SigningLog, envelope: Envelope, public_key: PublicKey, *,
                 verifier_pem: bytes | None = None) -> RekorEntry:
    """Upload a ``dsse`` entry of ``envelope`` (its JSON, as the bundle carries it) signed by ``public_key`` (or
    the certificate ``verifier_pem`` for it)."""
    body = json.dumps(envelope.to_json(), separators=(",", ":")).encode("utf-8")
    return _entry(log.create_dsse(body, [verifier_pem or public_key.pem()]))


def _entry(verified: VerifiedEntry) -> RekorEntry:
    if verified.entry.signed_entry_timestamp is None:
        raise TlogUploadError(
            f"the log returned entry {verified.entry.log_index} without a signed entry timestamp",
            hint="cosign's bundle annotation needs the SET; use a Rekor v1-compatible log",
        )
    return verified.entry


def rekor_bundle_annotation(entry: RekorEntry) -> str:
    """The ``dev.sigstore.cosign/bundle`` annotation value, exactly as cosign writes it."""
    return entry.to_rekor_bundle().to_json()


def open_signing_log(
    url: str,
    settings: Settings,
    *,
    public_key: str | Path | None = None,
    trusted_root: str | Path | None = None,
) -> RekorClient:
    """A client for the log at ``url`` with the key that checks its answers (see the module docstring).

    Raises ``ConfigurationError`` when no key can be had for a log that is not on this machine, and
    ``RekorUnavailableError`` when a loopback log cannot be reached for its key.
    """
    if public_key is not None or trusted_root is not None or not _is_loopback(url):
        keyring = select_keyring(url, public_key, trusted_root)
        narrowed = keyring.for_url(url)
        return RekorClient.open(url, narrowed if len(narrowed) else keyring, settings)
    with RekorClient.open(url, LogKeyring(()), settings) as probe:
        key = probe.public_key()  # trust on first use: only for a log on this machine
    # The client is closed on any failure (an interrupt included) and handed over open only on success.
    with contextlib.ExitStack() as on_failure:
        client = on_failure.enter_context(
            RekorClient.open(url, LogKeyring((TrustedLog(url.rstrip("/"), key),)), settings)
        )
        try:
            client.log_info()  # the advertised key must be the one the log signs with, before anything is uploaded
        except SignedNoteError as exc:
            raise UntrustedLogKeyError(
                f"not trusting the log at {display_url(url)} on first use: it advertises key "
                f"{key.log_id_hex[:16]}... but its checkpoint does not verify with it ({exc.message})"
            ) from exc
        on_failure.pop_all()
    return client


def open_default_log(
    *, public_key: str | Path | None = None, trusted_root: str | Path | None = None
) -> EmbeddedLog:
    """The embedded default log, ``${XDG_DATA_HOME:-~/.local/share}/supplychain/tlog`` (created on its first
    append). Its answers are checked with its own ``log.pub``, or with ``public_key``/``trusted_root`` if given."""
    from supplychain.tlog.server.embedded import EmbeddedLog, default_log_path  # sqlite3 and the log: ~30 ms

    keyring = None if public_key is None and trusted_root is None else select_keyring(None, public_key, trusted_root)
    return EmbeddedLog(default_log_path(), keyring=keyring)


def _is_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.hostname) and transport.is_loopback(parts.hostname or "")

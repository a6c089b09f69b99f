"""``signing.attach``: signatures made elsewhere, appended to the ``.sig`` manifest as ``sign`` would, on an OCI
layout. The same flows run through the CLI on the real registry in ``tests/integration/test_attachment_cli.py``."""

from __future__ import annotations

import base64
import datetime
import hashlib
import shutil
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from supplychain import keys
from supplychain.formats.error import InvalidPayloadError
from supplychain.layout import OciLayout
from supplychain.oci.attachment import AttachmentKind, attachment_tag
from supplychain.oci.model import Descriptor, Manifest, build_index
from supplychain.signing import SignatureFormat, SignatureWriteError, sign_image
from supplychain.signing.attach import (
    MAX_PAYLOAD_BYTES,
    MAX_SIGNATURE_BYTES,
    AttachFileError,
    CertificateFileError,
    ReplayedPayloadError,
    SignatureEncodingError,
    attach_signature,
    decode_signature_file,
    read_input_file,
)
from supplychain.signing.error import SignatureTagError
from supplychain.signing.legacy import CERTIFICATE_ANNOTATIONS, CHAIN_ANNOTATIONS, SIGNATURE_ANNOTATION
from supplychain.signing.payload import build_payload
from supplychain.signing.writer import APPEND_ATTEMPTS, is_listed
from supplychain.verify import VerifyPolicy, verify_image
from tests.support.concurrency import RivalStore, no_sleep, run_together

NAME = "registry.example/team/app"


def snapshot(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file() and not p.name.startswith(".supplychain")}


@pytest.fixture
def layout(fixture_layout_copy: Path) -> OciLayout:
    return OciLayout(fixture_layout_copy)


def out_of_band(subject: Descriptor, pair: keys.KeyPair) -> tuple[bytes, bytes]:
    """A payload for ``subject`` and its signature, made without touching any store (as an HSM would)."""
    payload = build_payload(NAME, subject.digest)
    return payload, keys.sign(pair.private_key, payload)


def sig_manifest(layout: OciLayout, subject: Descriptor) -> Manifest:
    found = layout.get_manifest(attachment_tag(subject.digest, AttachmentKind.SIGNATURE))
    assert isinstance(found, Manifest)
    return found


def test_out_of_band_signature_verifies(layout: OciLayout):
    pair = keys.generate_key_pair("ecdsa-p256")
    subject = layout.resolve("single")
    payload, signature = out_of_band(subject, pair)
    result = attach_signature(layout, subject, payload, signature)
    assert not result.already_present
    assert result.docker_reference == NAME
    assert result.tag == f"{subject.digest.tag_form}.sig"
    assert sig_manifest(layout, subject).digest == result.artifact.digest
    verdict = verify_image(layout, "single", VerifyPolicy((pair.public_key,), insecure_ignore_tlog=True))
    assert verdict.verified, verdict.reasons()


def test_attached_bytes_equal_what_sign_writes(fixture_layout_copy: Path, tmp_path: Path):
    # Ed25519 signatures are deterministic: sign_image and attach_signature must store the same manifest bytes.
    twin = OciLayout(shutil.copytree(fixture_layout_copy, tmp_path / "twin"))
    pair = keys.generate_key_pair("ed25519")
    signed = OciLayout(fixture_layout_copy)
    subject = signed.resolve("single")
    result = sign_image(signed, subject, pair.private_key, docker_reference=NAME)
    image = result.images[0]
    attached = attach_signature(twin, twin.resolve("single"), image.payload, image.signature)
    assert sig_manifest(twin, subject).raw == sig_manifest(signed, subject).raw
    assert attached.artifact.digest == image.artifact.digest  # type: ignore[union-attr]


def test_attach_appends_and_never_duplicates(layout: OciLayout):
    pair = keys.generate_key_pair("ecdsa-p256")
    subject = layout.resolve("single")
    sign_image(layout, subject, pair.private_key, docker_reference=NAME, annotations={"by": "sign"})
    payload, signature = out_of_band(subject, pair)
    attach_signature(layout, subject, payload, signature)
    before = sig_manifest(layout, subject)
    assert len(before.layers) == 2
    again = attach_signature(layout, subject, payload, signature)
    assert again.already_present
    assert sig_manifest(layout, subject).digest == before.digest
    # Another signature over the same payload (ECDSA is randomized) is another layer.
    attach_signature(layout, subject, payload, keys.sign(pair.private_key, payload))
    assert len(sig_manifest(layout, subject).layers) == 3


def test_replayed_payload_is_refused_and_nothing_written(layout: OciLayout):
    pair = keys.generate_key_pair("ecdsa-p256")
    single = layout.resolve("single")
    multi = layout.resolve("multi")
    payload, signature = out_of_band(single, pair)
    before = snapshot(layout.path)
    with pytest.raises(ReplayedPayloadError, match=f"the payload is for {single.digest}, not for {multi.digest}"):
        attach_signature(layout, multi, payload, signature)
    assert snapshot(layout.path) == before


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (b'{"critical": {}}', "missing identity, image, type"),
        (b"not json", "not valid JSON"),
        (b'{"critical":{"identity":{"docker-reference":"x"},"image":{"docker-manifest-digest":"sha256:00"},'
         b'"type":"cosign container image signature"},"optional":null}', "docker-manifest-digest"),
    ],
    ids=["incomplete", "not-json", "bad-digest"],
)
def test_payload_that_is_not_simple_signing_is_refused(layout: OciLayout, payload: bytes, fragment: str):
    before = snapshot(layout.path)
    with pytest.raises(InvalidPayloadError, match=fragment) as info:
        attach_signature(layout, layout.resolve("single"), payload, b"\x30\x00")
    assert info.value.message.startswith("the payload is not a cosign simple-signing payload")
    assert snapshot(layout.path) == before


def test_size_caps(layout: OciLayout):
    subject = layout.resolve("single")
    payload = build_payload(NAME, subject.digest)
    with pytest.raises(AttachFileError, match="larger than 1 MiB"):
        attach_signature(layout, subject, payload + b" " * MAX_PAYLOAD_BYTES, b"sig")
    with pytest.raises(AttachFileError, match="larger than 64 KiB"):
        attach_signature(layout, subject, payload, b"s" * (MAX_SIGNATURE_BYTES + 1))


def test_read_input_file(tmp_path: Path):
    with pytest.raises(AttachFileError, match=r"payload file .*missing\.json does not exist"):
        read_input_file(tmp_path / "missing.json", limit=10, what="payload")
    (tmp_path / "big").write_bytes(b"x" * 11)
    with pytest.raises(AttachFileError, match="larger than 0 KiB"):
        read_input_file(tmp_path / "big", limit=10, what="signature")
    (tmp_path / "empty").write_bytes(b"\n")
    with pytest.raises(AttachFileError, match="is empty"):
        read_input_file(tmp_path / "empty", limit=10, what="signature")
    with pytest.raises(AttachFileError, match="cannot read payload file"):
        read_input_file(tmp_path, limit=10, what="payload")
    (tmp_path / "ok").write_bytes(b"abc")
    assert read_input_file(tmp_path / "ok", limit=3, what="payload") == b"abc"


def test_signature_file_formats():
    pair = keys.generate_key_pair("ecdsa-p256")
    der = keys.sign(pair.private_key, b"payload")
    text = base64.b64encode(der)
    assert decode_signature_file(text) == der
    assert decode_signature_file(text + b"\n") == der  # cosign sign --output-signature adds no newline; echo does
    wrapped = b"\n".join(text[i:i + 76] for i in range(0, len(text), 76)) + b"\r\n"
    assert decode_signature_file(wrapped) == der  # line-wrapped base64 (cosign's BYO-PKI fixtures wrap at 76)
    assert decode_signature_file(der) == der  # raw DER (openssl dgst -sign)
    ed = keys.sign(keys.generate_key_pair("ed25519").private_key, b"payload")
    assert decode_signature_file(base64.b64encode(ed)) == ed


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"this is not a signature", "neither base64 text nor a DER-encoded signature"),
        (b"abcde", "not valid base64"),
        (b"====", "not valid base64"),
        (b"\x30\x06\x02\x01\x01\x02\x01\x01\x00", "neither base64"),  # DER plus a trailing byte
        (b"\x30\x81\x06\x02\x01\x01\x02\x01\x01", "neither base64"),  # non-canonical length
        (bytes(range(256)), "neither base64"),
    ],
    ids=["text", "bad-padding", "empty-decode", "trailing-data", "long-form-length", "binary"],
)
def test_bad_signature_files(data: bytes, fragment: str):
    with pytest.raises(SignatureEncodingError, match=fragment):
        decode_signature_file(data)


def _certificate(name: str) -> tuple[bytes, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"supplychain TEST-ONLY {name}")])
    now = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(4242).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM), key


def test_certificate_and_chain_annotations(layout: OciLayout):
    leaf, _ = _certificate("leaf")
    root, _ = _certificate("root")
    pair = keys.generate_key_pair("ecdsa-p256")
    subject = layout.resolve("single")
    payload, signature = out_of_band(subject, pair)
    result = attach_signature(layout, subject, payload, signature, certificate=b"junk before\n" + leaf,
                              chain=root + root)
    annotations = result.layer.annotations
    assert annotations[SIGNATURE_ANNOTATION] == base64.b64encode(signature).decode()
    assert annotations[CERTIFICATE_ANNOTATIONS[0]] == leaf.decode()
    assert annotations[CHAIN_ANNOTATIONS[0]] == (root + root).decode()
    assert sig_manifest(layout, subject).layers[0].annotations == annotations


def test_bad_certificates_are_refused(layout: OciLayout):
    leaf, _ = _certificate("leaf")
    subject = layout.resolve("single")
    payload, signature = out_of_band(subject, keys.generate_key_pair("ecdsa-p256"))
    before = snapshot(layout.path)
    with pytest.raises(CertificateFileError, match="without the certificate"):
        attach_signature(layout, subject, payload, signature, chain=leaf)
    with pytest.raises(CertificateFileError, match="holds 2 certificates"):
        attach_signature(layout, subject, payload, signature, certificate=leaf + leaf)
    with pytest.raises(CertificateFileError, match="not a PEM certificate file"):
        attach_signature(layout, subject, payload, signature, certificate=b"-----BEGIN PUBLIC KEY-----\nAA==\n")
    with pytest.raises(CertificateFileError, match="certificate chain is not a PEM"):
        attach_signature(layout, subject, payload, signature, certificate=leaf, chain=b"garbage")
    assert snapshot(layout.path) == before


def test_sig_tag_holding_an_index_is_refused(layout: OciLayout):
    subject = layout.resolve("single")
    index = build_index([])
    layout.put_blob(index.descriptor(), [index.raw])
    layout.put_manifest(index, tag=attachment_tag(subject.digest, AttachmentKind.SIGNATURE))
    payload, signature = out_of_band(subject, keys.generate_key_pair("ecdsa-p256"))
    with pytest.raises(SignatureTagError, match="holds an image index"):
        attach_signature(layout, subject, payload, signature)


def test_bundle_signatures_are_untouched(layout: OciLayout):
    pair = keys.generate_key_pair("ecdsa-p256")
    subject = layout.resolve("single")
    sign_image(layout, subject, pair.private_key, docker_reference=NAME, signature_format=SignatureFormat.BUNDLE)
    payload, signature = out_of_band(subject, pair)
    attach_signature(layout, subject, payload, signature)
    assert len(layout.referrers(subject.digest)) == 1
    assert len(sig_manifest(layout, subject).layers) == 1


def test_concurrent_attachers_keep_every_signature(fixture_layout_copy: Path):
    pair = keys.generate_key_pair("ecdsa-p256")
    subject = OciLayout(fixture_layout_copy).resolve("single")
    payload = build_payload(NAME, subject.digest)
    signatures = [keys.sign(pair.private_key, payload) for _ in range(6)]  # randomized: six distinct layers

    def attacher(signature: bytes):  # one layout object per writer, as separate processes would have
        return lambda: attach_signature(OciLayout(fixture_layout_copy), subject, payload, signature)

    results = run_together([attacher(s) for s in signatures])
    layers = sig_manifest(OciLayout(fixture_layout_copy), subject).layers
    assert len(layers) == 6
    assert all(is_listed(layers, result.layer) and not result.already_present for result in results)


def test_an_overwritten_attachment_is_appended_again_or_is_an_error(layout: OciLayout):
    subject = layout.resolve("single")
    payload, signature = out_of_band(subject, keys.generate_key_pair("ecdsa-p256"))
    store = RivalStore(layout, overwrites=1)
    result = attach_signature(store, subject, payload, signature, sleep=no_sleep)
    layers = sig_manifest(layout, subject).layers
    assert store.puts == 2 and is_listed(layers, result.layer) and is_listed(layers, store.rival_layers[0])

    other = keys.sign(keys.generate_key_pair("ecdsa-p256").private_key, payload)
    lost = RivalStore(layout, overwrites=10**6)
    with pytest.raises(SignatureWriteError, match="the signature was not stored"):
        attach_signature(lost, subject, payload, other, sleep=no_sleep)
    assert lost.puts == APPEND_ATTEMPTS

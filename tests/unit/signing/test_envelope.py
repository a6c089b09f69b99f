"""DSSE PAE and envelopes, in-toto statements and Sigstore bundles: the bytes cosign v3 writes."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from supplychain.digest import Digest
from supplychain.formats.bundle import Bundle
from supplychain.formats.dsse import DsseSignature, Envelope, decode_bytes, envelope_from_json, pae
from supplychain.formats.error import InvalidPayloadError
from supplychain.formats.intoto import COSIGN_SIGN_PREDICATE, build_statement, parse_statement
from supplychain.keys import generate_key_pair
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import EMPTY_DESCRIPTOR, Descriptor
from supplychain.signing.bundle import (
    build_bundle,
    bundle_referrer,
    key_hint,
    rfc3339,
)
from tests.support.signatures import FIXED_TIME

DIGEST = Digest.parse("sha256:" + "ab" * 32)


def test_pae_matches_the_dsse_spec_example():
    # secure-systems-lab/dsse protocol.md, "Test vectors" (PAE of the spec's example).
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert pae("t", b"") == b"DSSEv1 1 t 0 "
    assert pae("é", b"\x00") == b"DSSEv1 2 \xc3\xa9 1 \x00"  # lengths are byte lengths


def test_envelope_json_round_trip():
    env = Envelope(b'{"a":1}', "application/vnd.in-toto+json", (DsseSignature(b"\x01\x02"), DsseSignature(b"x", "k")))
    doc = env.to_json()
    assert list(doc) == ["payload", "payloadType", "signatures"]
    assert doc["signatures"][0] == {"sig": "AQI="}  # empty keyid omitted, as protojson does
    assert envelope_from_json(doc) == env


def test_protojson_bytes_accept_url_safe_and_unpadded():
    assert decode_bytes("-_8", "x") == b"\xfb\xff"
    assert decode_bytes("+/8=", "x") == b"\xfb\xff"
    with pytest.raises(InvalidPayloadError, match="not valid base64"):
        decode_bytes("a*b", "x")
    with pytest.raises(InvalidPayloadError, match="not a base64 string"):
        decode_bytes(5, "x")


@pytest.mark.parametrize("doc", [[], {"payloadType": "t"}, {"payload": "", "signatures": []},
                                 {"payload": "", "payloadType": "t", "signatures": [1]},
                                 {"payload": "", "payloadType": "t", "signatures": [{"sig": "", "keyid": 3}]}])
def test_envelope_refuses_malformed(doc):
    with pytest.raises(InvalidPayloadError):
        envelope_from_json(doc)


def test_statement_bytes_are_cosign_v3s():
    got = build_statement("registry.example/app", DIGEST, {"b": "2", "a": "1"})
    assert got == (
        b'{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"registry.example/app",'
        b'"digest":{"sha256":"' + DIGEST.hex.encode() + b'"},"annotations":{"a":"1","b":"2"}}],'
        b'"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}'
    )
    parsed = parse_statement(got)
    assert parsed.predicate_type == COSIGN_SIGN_PREDICATE
    assert parsed.subject_for(DIGEST) is not None
    assert parsed.subjects[0].annotations == {"a": "1", "b": "2"}
    assert b"annotations" not in build_statement("r/a", DIGEST)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"_type": "x"}, "_type"),
        ({"_type": "https://in-toto.io/Statement/v1", "subject": []}, "predicateType"),
        ({"_type": "https://in-toto.io/Statement/v0.1", "predicateType": "p", "subject": []}, "no subject"),
        ({"_type": "https://in-toto.io/Statement/v1", "predicateType": "p", "subject": [{"digest": {}}]}, "digest"),
        ({"_type": "https://in-toto.io/Statement/v1", "predicateType": "p",
          "subject": [{"digest": {"sha256": "zz"}}]}, "invalid sha256"),
    ],
)
def test_statement_refuses_malformed(doc, message):
    with pytest.raises(InvalidPayloadError, match=message):
        parse_statement(json.dumps(doc).encode())


def test_bundle_build_parse_and_hint():
    pair = generate_key_pair()
    hint = key_hint(pair.public_key)
    assert base64.b64decode(hint) == hashlib.sha256(pair.public_key.der()).digest()
    env = Envelope(build_statement("r/a", DIGEST), "application/vnd.in-toto+json", (DsseSignature(b"sig"),))
    raw = build_bundle(env, hint)
    doc = json.loads(raw)
    assert list(doc) == ["mediaType", "verificationMaterial", "dsseEnvelope"]
    assert doc["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert doc["verificationMaterial"] == {"publicKey": {"hint": hint}, "tlogEntries": []}
    parsed = Bundle.parse(raw)
    assert parsed.envelope == env
    assert parsed.public_key_hint == hint
    assert parsed.tlog_entries == ()


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"mediaType": "application/json"}, "mediaType"),
        ({"mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.2"}, "verificationMaterial"),
        ({"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "verificationMaterial": {}}, "exactly one"),
        ({"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "verificationMaterial": {"tlogEntries": 1},
          "dsseEnvelope": {}}, "tlogEntries"),
    ],
)
def test_bundle_refuses_malformed(doc, message):
    with pytest.raises(InvalidPayloadError, match=message):
        Bundle.parse(json.dumps(doc).encode())


def test_bundle_refuses_non_json_and_duplicates():
    with pytest.raises(InvalidPayloadError, match="not valid JSON"):
        Bundle.parse(b"\xff{")
    with pytest.raises(InvalidPayloadError, match="duplicate"):
        Bundle.parse(b'{"mediaType":"a","mediaType":"b"}')


def test_bundle_referrer_manifest():
    subject = Descriptor(MediaType.OCI_MANIFEST, DIGEST, 123, {"x": "y"})
    manifest = bundle_referrer(b'{"b":1}', subject, COSIGN_SIGN_PREDICATE, FIXED_TIME)
    doc = json.loads(manifest.raw)
    assert doc["artifactType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert doc["config"] == EMPTY_DESCRIPTOR.to_json()
    assert doc["layers"][0]["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert doc["subject"] == {"mediaType": MediaType.OCI_MANIFEST, "digest": str(DIGEST), "size": 123}
    assert doc["annotations"] == {
        "dev.sigstore.bundle.content": "dsse-envelope",
        "dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1",
        "org.opencontainers.image.created": "2024-01-02T03:04:05Z",
    }
    with pytest.raises(ValueError, match="aware"):
        rfc3339(FIXED_TIME.replace(tzinfo=None))


def test_bundle_nested_too_deeply_is_invalid_not_a_crash():
    """A referrer layer of '['*100000 + ']'*100000 used to escape parse_bundle as RecursionError (exit 70)."""
    with pytest.raises(InvalidPayloadError, match="bundle is not valid JSON: arrays and objects nest deeper"):
        Bundle.parse(b"[" * 100_000 + b"]" * 100_000)
    deep_material = {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                     "verificationMaterial": {"tlogEntries": []}, "dsseEnvelope": {}}
    raw = json.dumps(deep_material).encode().replace(b'"tlogEntries": []', b'"x": ' + b"[" * 5000 + b"]" * 5000)
    with pytest.raises(InvalidPayloadError, match="nest deeper"):
        Bundle.parse(raw)


@pytest.mark.parametrize("where", ["payload", "certificate"])
def test_bundle_with_non_ascii_base64_is_invalid_not_a_crash(where):
    envelope = {"payload": "AAAA", "payloadType": "application/vnd.in-toto+json", "signatures": [{"sig": "AAAA"}]}
    material: dict[str, object] = {"tlogEntries": []}
    if where == "payload":
        envelope["payload"] = "é"
    else:
        material["certificate"] = {"rawBytes": "é"}
    doc = {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "verificationMaterial": material,
           "dsseEnvelope": envelope}
    with pytest.raises(InvalidPayloadError, match="bundle is malformed"):
        Bundle.parse(json.dumps(doc).encode())

"""Simple-signing payloads: byte-identical to Go's encoding (sigstore payload_test.go goldens), strict parsing."""

from __future__ import annotations

import json

import pytest

from supplychain.digest import Digest
from supplychain.formats import gojson, strictjson
from supplychain.formats.error import InvalidPayloadError
from supplychain.signing.payload import build_payload, parse_payload
from tests.support.signatures import CONTAINERS_FIXTURES, COSIGN_VECTORS, read_signature_file

GOLDEN = json.loads(
    (COSIGN_VECTORS / "sigstore-sigstore/pkg/signature/payload/payload_test.golden.json").read_text()
)
DIGEST = Digest.parse("sha256:" + "d34db33f" * 8)


def golden(desc: str) -> bytes:
    return next(c["payload"] for c in GOLDEN["marshal_golden"] if c["desc"] == desc).encode()


def test_no_claims_golden():
    assert build_payload("example.com/test/image", DIGEST) == golden("no claims")
    assert build_payload("example.com/test/image", DIGEST, {}) == golden("no claims")


def test_standard_atomic_golden():
    got = build_payload("example.com/atomic/test/image", DIGEST, {"creator": "atomic", "timestamp": 1458239713})
    assert got == golden("standard atomic signature")


def test_arbitrary_claims_golden():
    claims = {"creator": "anyone", "CamelCase WithSpace": 8.314,
              "some_struct": {"foo": "bar", "false": True, "nothing": None}}
    assert build_payload("example.com/cosign/test/image", DIGEST, claims) == golden("arbitrary claims")


def test_custom_identity_golden():
    assert build_payload("docker.io/library/test:1.2.3", DIGEST) == golden("custom identity")


def test_cosign_made_payload_is_reproduced_byte_for_byte():
    """The payload cosign signed in containers/image's dir-img-cosign-valid is what we build for it."""
    made_by_cosign = read_signature_file(CONTAINERS_FIXTURES / "dir-img-cosign-valid" / "signature-1").payload
    parsed = parse_payload(made_by_cosign)
    assert build_payload(parsed.docker_reference, parsed.digest) == made_by_cosign


@pytest.mark.parametrize("case", GOLDEN["unmarshal_cases"], ids=lambda c: c["desc"])
def test_unmarshal_cases(case):
    if case["expect_error"]:
        with pytest.raises(InvalidPayloadError, match=r"critical\.type"):
            parse_payload(case["payload"].encode())
    else:
        parsed = parse_payload(case["payload"].encode())
        assert parsed.digest == DIGEST


def test_containers_image_payload_with_timestamp_parses():
    data = read_signature_file(CONTAINERS_FIXTURES / "dir-img-cosign-valid-with-tag" / "signature-1").payload
    parsed = parse_payload(data)
    assert parsed.docker_reference == "192.168.64.2:5000/skopeo-signed:tag"
    assert parsed.optional == {"creator": "containers/image 5.21.2-dev", "timestamp": 1657296609}


VALID = build_payload("example.com/a", DIGEST).decode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ("[]", "not a JSON object"),
        (VALID.replace('"optional":null', '"optional":null,"extra":1'), "unexpected extra"),
        (VALID.replace(',"type":"cosign container image signature"', ""), "missing type"),
        (VALID.replace('"docker-manifest-digest"', '"Docker-manifest-digest"'), "critical.image"),
        (VALID.replace('"optional":null', '"optional":[]'), "optional must be an object"),
        (VALID.replace('"optional":null', '"optional":{"timestamp":"yesterday"}'), "timestamp"),
        (VALID.replace('"optional":null', '"optional":{"timestamp":1.5}'), "timestamp"),
        (VALID.replace("sha256:d34d", "sha256:XX4d"), "docker-manifest-digest"),
        (VALID.replace('"example.com/a"', "7"), "docker-reference is not a string"),
        # Two digest claims: verifiers that pick different copies would disagree about what was signed.
        (VALID.replace('"image":{', '"image":{"docker-manifest-digest":"sha256:' + "0" * 64 + '",'), "duplicate"),
        (VALID.replace('"optional":null', '"optional":NaN'), "not valid JSON"),
    ],
)
def test_strict_parse_refuses(text, message):
    with pytest.raises(InvalidPayloadError, match=message):
        parse_payload(text.encode())


def test_optional_may_be_absent():
    assert parse_payload(VALID.replace(',"optional":null', "").encode()).optional is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (8.314, "8.314"), (1.0, "1"), (100.0, "100"), (1e20, "100000000000000000000"), (1e21, "1e+21"),
        (1e-6, "0.000001"), (1e-7, "1e-7"), (1.5e-10, "1.5e-10"), (-2.5, "-2.5"), (0.0, "0"),
        (123456789.125, "123456789.125"),
    ],
)
def test_go_float_formatting(value, expected):
    assert gojson.format_float(value) == expected


def test_go_string_escaping():
    got = gojson.encode_string('<a&b>"\\\n\t\u2028é\x01\x7f')
    assert got == '"\\u003ca\\u0026b\\u003e\\"\\\\\\n\\t\\u2028é\\u0001\x7f"'


def test_go_encoder_refuses_nan_and_odd_types():
    with pytest.raises(gojson.GoJsonError):
        gojson.encode({"x": float("nan")})
    with pytest.raises(gojson.GoJsonError):
        gojson.encode({"x": object()})
    with pytest.raises(gojson.GoJsonError):
        gojson.encode({1: "x"})


# -- nesting: what registries and logs send is read without RecursionError ------------------------------------

DEEP = b"[" * 100_000 + b"]" * 100_000  # 200 kB: far past Python's recursion limit


@pytest.mark.parametrize("data", [DEEP, b'{"a":' * 129 + b"1" + b"}" * 129, b"[" * 100_000],
                         ids=["arrays", "objects", "unterminated"])
def test_strict_reader_refuses_deep_nesting_as_a_value_error(data):
    with pytest.raises(strictjson.NestingError, match="nest deeper than 128 levels"):
        gojson.decode_strict(data)
    with pytest.raises(InvalidPayloadError, match="simple-signing payload is not valid JSON: arrays and objects nest"):
        parse_payload(data)


def test_strict_reader_nesting_limit_and_what_it_does_not_count():
    at_limit = b"[" * strictjson.MAX_NESTING + b"]" * strictjson.MAX_NESTING
    assert gojson.decode_strict(at_limit) is not None
    # brackets inside strings, escaped quotes and backslashes are not nesting
    text = b'{"a":"' + b"[{" * 5000 + b'\\"' + b"[" * 5000 + b'\\\\","b":["]]]"]}'
    assert gojson.decode_strict(text)["b"] == ["]]]"]
    assert not strictjson.nesting_exceeds(text, 2)
    assert strictjson.nesting_exceeds(b'[[["x"]]]', 2) and not strictjson.nesting_exceeds(b'[[["x"]]]', 3)
    assert not strictjson.nesting_exceeds(b"[]" * 10_000, 1)


def test_strict_reader_turns_a_recursion_error_into_its_own():
    """Past the pre-check (here: a cap too high to help), the decoder's RecursionError is its own ValueError."""
    with pytest.raises(strictjson.NestingError, match="nest too deeply") as caught:
        gojson.decode_strict(DEEP, max_nesting=10**9)
    assert isinstance(caught.value.__cause__, RecursionError)

"""The little DER (ITU-T X.690) we read ourselves, before handing keys to pyca/cryptography.

cryptography parses keys; this module only looks at their outer shape, to do what cryptography does not:

- tell PKCS#8 ``PrivateKeyInfo`` (RFC 5208/5958) from PKCS#1 ``RSAPrivateKey`` (RFC 8017 A.1.2) and SEC1
  ``ECPrivateKey`` (RFC 5915), because cosign accepts only PKCS#8 inside its encrypted envelope while
  ``load_der_private_key`` takes all three;
- read the algorithm OID and the RSA modulus size, so unsupported or absurdly large keys are refused before any
  expensive RSA validation runs;
- rewrite a PKCS#8 v2 ``OneAsymmetricKey`` (RFC 5958: version 1 with the ``[1] publicKey`` field) as v1, which
  cryptography refuses as-is (sigstore-rs writes Ed25519 keys this way).

Only definite, minimal DER lengths and low tag numbers are accepted: anything else is not a key we read.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from supplychain.keys.error import InvalidKeyError

# Universal tags (X.690 8.1.2), constructed bit set for SEQUENCE.
TAG_INTEGER = 0x02
TAG_BIT_STRING = 0x03
TAG_OCTET_STRING = 0x04
TAG_OID = 0x06
TAG_SEQUENCE = 0x30
# RFC 5958 module uses IMPLICIT TAGS: publicKey [1] IMPLICIT BIT STRING is context-specific, primitive.
TAG_PKCS8_PUBLIC_KEY = 0x81

OID_RSA_ENCRYPTION = "1.2.840.113549.1.1.1"  # RFC 8017 A.1
OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"  # RFC 5480 2.1.1
OID_ED25519 = "1.3.101.112"  # RFC 8410 3

_MAX_LENGTH_OCTETS = 4  # a key is never 4 GiB


@dataclass(frozen=True, slots=True)
class Element:
    """One TLV: its tag and the offsets of its header start, content start and end in the buffer."""

    tag: int
    start: int
    content_start: int
    end: int

    def content(self, data: bytes) -> bytes:
        """The content octets of this element within ``data``."""
        return data[self.content_start : self.end]


class PrivateKeyForm(Enum):
    """The outer structure of a private key's DER."""

    PKCS8 = "PKCS#8"
    PKCS1 = "PKCS#1 RSA"
    SEC1 = "SEC1 EC"


def read_element(data: bytes, offset: int = 0, limit: int | None = None) -> Element:
    """Parse the TLV at ``offset`` that must end at or before ``limit`` (default: end of ``data``)."""
    limit = len(data) if limit is None else limit
    if offset + 2 > limit:
        raise InvalidKeyError("truncated DER: element header missing")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise InvalidKeyError("malformed DER: high tag numbers are not used in keys")
    first = data[offset + 1]
    position = offset + 2
    if first < 0x80:
        length = first
    elif first == 0x80:
        raise InvalidKeyError("malformed DER: indefinite length (BER) is not DER")
    else:
        count = first & 0x7F
        if count > _MAX_LENGTH_OCTETS or position + count > limit:
            raise InvalidKeyError("truncated or malformed DER length")
        octets = data[position : position + count]
        length = int.from_bytes(octets, "big")
        # X.690 10.1: the long form only when needed, with no leading zero octet.
        if octets[0] == 0 or length < 0x80:
            raise InvalidKeyError("malformed DER: non-minimal length")
        position += count
    end = position + length
    if end > limit:
        raise InvalidKeyError("truncated DER: element runs past the end of its container")
    return Element(tag, offset, position, end)


def read_single(data: bytes) -> Element:
    """Parse ``data`` as exactly one element with nothing after it."""
    element = read_element(data)
    if element.end != len(data):
        raise InvalidKeyError("malformed DER: trailing bytes after the key")
    return element


def children(data: bytes, parent: Element) -> list[Element]:
    """The elements inside a constructed element."""
    if not parent.tag & 0x20:
        raise InvalidKeyError("malformed DER: expected a constructed element")
    items: list[Element] = []
    position = parent.content_start
    while position < parent.end:
        item = read_element(data, position, parent.end)
        items.append(item)
        position = item.end
    return items


def encode(tag: int, content: bytes) -> bytes:
    """A DER TLV with a minimal length."""
    size = len(content)
    if size < 0x80:
        header = bytes([tag, size])
    else:
        octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
        header = bytes([tag, 0x80 | len(octets)]) + octets
    return header + content


def decode_oid(content: bytes) -> str:
    """Dotted form of an OBJECT IDENTIFIER's content octets (X.690 8.19)."""
    if not content or content[-1] & 0x80:
        raise InvalidKeyError("malformed DER: bad object identifier")
    arcs: list[int] = []
    value = 0
    for octet in content:
        if value == 0 and octet == 0x80:
            raise InvalidKeyError("malformed DER: non-minimal object identifier")
        value = (value << 7) | (octet & 0x7F)
        if not octet & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(arc) for arc in [first, arcs[0] - 40 * first, *arcs[1:]])


def unsigned_bit_length(content: bytes) -> int:
    """Bit length of a non-negative INTEGER's content octets."""
    if not content or content[0] & 0x80:
        raise InvalidKeyError("malformed DER: expected a positive integer")
    return int.from_bytes(content, "big").bit_length()


def private_key_form(der: bytes) -> PrivateKeyForm:
    """Classify a private key DER by its second field (after the version INTEGER).

    PKCS#8: ``SEQUENCE { INTEGER version, SEQUENCE algorithm, OCTET STRING key, ... }``;
    PKCS#1: ``SEQUENCE { INTEGER 0, INTEGER modulus, ... }``;
    SEC1: ``SEQUENCE { INTEGER 1, OCTET STRING privateKey, [0] parameters, [1] publicKey }``.
    """
    outer = read_single(der)
    fields = children(der, outer) if outer.tag == TAG_SEQUENCE else []
    if len(fields) < 3 or fields[0].tag != TAG_INTEGER:
        raise InvalidKeyError("not a private key: unexpected DER structure")
    match fields[1].tag:
        case 0x30:
            return PrivateKeyForm.PKCS8
        case 0x02:
            return PrivateKeyForm.PKCS1
        case 0x04:
            return PrivateKeyForm.SEC1
        case _:
            raise InvalidKeyError("not a private key: unexpected DER structure")


@dataclass(frozen=True, slots=True)
class Pkcs8Info:
    """What we need from a PKCS#8 key before parsing it: algorithm, RSA size, and a v1 rewrite."""

    algorithm_oid: str
    rsa_bits: int | None  # modulus size of an RSA key
    v1_der: bytes  # the key as PKCS#8 v1 (unchanged when it already was)
    public_key_field: bytes | None  # RFC 5958 [1] publicKey bits, when present


def inspect_pkcs8(der: bytes) -> Pkcs8Info:
    """Read a PKCS#8 ``PrivateKeyInfo``/``OneAsymmetricKey`` (RFC 5958 section 2).

    ``OneAsymmetricKey ::= SEQUENCE { version INTEGER (v1(0)|v2(1)), privateKeyAlgorithm AlgorithmIdentifier,
    privateKey OCTET STRING, attributes [0] IMPLICIT Attributes OPTIONAL, ..., [[2: publicKey [1] IMPLICIT
    PublicKey OPTIONAL ]], ... }``. A v2 key is rewritten to v1 by dropping ``publicKey`` and setting the
    version to 0; the caller must check the dropped public key against the private key.
    """
    outer = read_single(der)
    fields = children(der, outer)
    if len(fields) < 3 or fields[0].tag != TAG_INTEGER or fields[1].tag != TAG_SEQUENCE:
        raise InvalidKeyError("not a PKCS#8 private key")
    if fields[2].tag != TAG_OCTET_STRING:
        raise InvalidKeyError("malformed PKCS#8 private key: privateKey is not an OCTET STRING")
    version = fields[0].content(der)
    if version not in (b"\x00", b"\x01"):
        raise InvalidKeyError("unsupported PKCS#8 version (RFC 5958 defines v1 and v2)")
    algorithm = children(der, fields[1])
    if not algorithm or algorithm[0].tag != TAG_OID:
        raise InvalidKeyError("malformed PKCS#8 private key: no algorithm identifier")
    oid = decode_oid(algorithm[0].content(der))
    rsa_bits = None
    if oid == OID_RSA_ENCRYPTION:
        rsa_bits = rsa_modulus_bits(fields[2].content(der))
    public_key_field = None
    trailing = fields[3:]
    if trailing and trailing[-1].tag == TAG_PKCS8_PUBLIC_KEY:
        if version != b"\x01":
            raise InvalidKeyError("malformed PKCS#8 private key: publicKey field in a v1 key")
        bits = trailing[-1].content(der)
        if not bits or bits[0] != 0:
            raise InvalidKeyError("malformed PKCS#8 private key: publicKey is not a whole-octet BIT STRING")
        public_key_field = bits[1:]
        trailing = trailing[:-1]
    if any(item.tag != 0xA0 for item in trailing):  # only [0] attributes may remain
        raise InvalidKeyError("malformed PKCS#8 private key: unexpected trailing field")
    v1_der = der
    if version == b"\x01":
        body = encode(TAG_INTEGER, b"\x00") + der[fields[1].start : (trailing[-1] if trailing else fields[2]).end]
        v1_der = encode(TAG_SEQUENCE, body)
    return Pkcs8Info(oid, rsa_bits, v1_der, public_key_field)


def rsa_modulus_bits(pkcs1_der: bytes) -> int:
    """Modulus size of a PKCS#1 ``RSAPrivateKey`` (RFC 8017 A.1.2: version, modulus, ...)."""
    outer = read_single(pkcs1_der)
    fields = children(pkcs1_der, outer) if outer.tag == TAG_SEQUENCE else []
    if len(fields) < 2 or fields[1].tag != TAG_INTEGER:
        raise InvalidKeyError("malformed RSA private key")
    return unsigned_bit_length(fields[1].content(pkcs1_der))


def spki_algorithm(der: bytes) -> tuple[str, int | None]:
    """Algorithm OID and RSA modulus size of a PKIX ``SubjectPublicKeyInfo`` (RFC 5280 4.1.2.7)."""
    outer = read_single(der)
    fields = children(der, outer) if outer.tag == TAG_SEQUENCE else []
    if len(fields) != 2 or fields[0].tag != TAG_SEQUENCE or fields[1].tag != TAG_BIT_STRING:
        raise InvalidKeyError("not a PKIX public key (SubjectPublicKeyInfo)")
    algorithm = children(der, fields[0])
    if not algorithm or algorithm[0].tag != TAG_OID:
        raise InvalidKeyError("malformed public key: no algorithm identifier")
    oid = decode_oid(algorithm[0].content(der))
    if oid != OID_RSA_ENCRYPTION:
        return oid, None
    bits = fields[1].content(der)
    if not bits or bits[0] != 0:
        raise InvalidKeyError("malformed public key: bad BIT STRING")
    # RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017 A.1.1)
    inner = bits[1:]
    rsa_fields = children(inner, read_single(inner))
    if len(rsa_fields) != 2 or rsa_fields[0].tag != TAG_INTEGER:
        raise InvalidKeyError("malformed RSA public key")
    return oid, unsigned_bit_length(rsa_fields[0].content(inner))

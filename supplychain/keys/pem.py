"""PEM (RFC 7468) blocks: find, decode strictly, encode as Go's ``pem.EncodeToMemory`` does (64 columns)."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from supplychain.keys.error import InvalidKeyError, UnsupportedKeyError

# RFC 7468 section 3: label characters are printable ASCII except '-', single spaces allowed inside.
_BEGIN = re.compile(rb"^-----BEGIN ([\x21-\x2C\x2E-\x7E](?:[ \x21-\x2C\x2E-\x7E]*[\x21-\x2C\x2E-\x7E])?)-----[ \t]*$")
_LINE_WIDTH = 64  # Go encoding/pem and OpenSSL both wrap at 64


@dataclass(frozen=True, slots=True)
class PemBlock:
    """One decoded PEM block: its label (e.g. ``PUBLIC KEY``) and the bytes of its body."""

    label: str
    body: bytes


def decode_pem(data: bytes) -> PemBlock:
    """The first PEM block in ``data`` (text before it is ignored, as Go's ``pem.Decode`` does).

    Refused with a one-line reason: no block, no matching END line (a truncated file), encapsulated headers
    (OpenSSL ``Proc-Type``/``DEK-Info`` encryption, PGP armor), a body that is not strict base64, an empty body.
    """
    lines = data.splitlines()
    start = next((i for i, line in enumerate(lines) if _BEGIN.match(line.strip())), None)
    if start is None:
        raise InvalidKeyError("not a PEM file: no '-----BEGIN ...-----' line")
    match = _BEGIN.match(lines[start].strip())
    assert match is not None
    label = match.group(1).decode("ascii")
    end_line = f"-----END {label}-----".encode("ascii")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].strip() == end_line), None)
    if end is None:
        raise InvalidKeyError(f"truncated PEM: '-----BEGIN {label}-----' has no matching END line")
    if label.startswith("PGP "):  # RFC 4880 ASCII armor looks like PEM but is not a key we read
        raise UnsupportedKeyError(
            f"OpenPGP keys ({label}) are not supported", hint="export the key as a PEM private key (PKCS#8)"
        )
    body_lines = [line.strip() for line in lines[start + 1 : end]]
    if any(b":" in line for line in body_lines):
        raise InvalidKeyError(
            f"PEM block {label!r} has headers (encrypted or armored PEM), which are not supported",
            hint="decrypt it first (e.g. openssl pkey -in KEY -out PLAIN.pem), or give a cosign key",
        )
    try:
        body = base64.b64decode(b"".join(body_lines), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidKeyError(f"PEM block {label!r} is not valid base64 (truncated or corrupted file)") from exc
    if not body:
        raise InvalidKeyError(f"PEM block {label!r} is empty")
    return PemBlock(label, body)


def encode_pem(label: str, body: bytes) -> bytes:
    """A PEM block with ``\\n`` line ends and base64 wrapped at 64 columns, ending in a newline."""
    text = base64.b64encode(body)
    lines = [text[i : i + _LINE_WIDTH] for i in range(0, len(text), _LINE_WIDTH)]
    return b"\n".join([f"-----BEGIN {label}-----".encode(), *lines, f"-----END {label}-----".encode(), b""])

"""Test helpers for signing and verification: cosign fixtures into a store, crafted signature manifests.

Shared by the unit and integration tests of signing, verification and attachments.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from supplychain.digest import Digest
from supplychain.keys import KeyPair, PublicKey, generate_key_pair, load_public_key_pem
from supplychain.oci.attachment import AttachmentKind, attachment_tag
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import Descriptor, Manifest, encode_json, parse_manifest
from supplychain.oci.store import ArtifactStore
from supplychain.signing.legacy import build_signature_manifest
from tests.support.fixture import fixture_path

COSIGN_VECTORS = fixture_path("vectors", "cosign")
CONTAINERS_FIXTURES = COSIGN_VECTORS / "containers-image" / "signature" / "fixtures"
KEY_VECTORS = fixture_path("vectors", "keys")
FIXED_TIME = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def fixed_clock() -> datetime:
    return FIXED_TIME


def cosign_public_key(name: str = "cosign.pub") -> PublicKey:
    """A public key of the containers/image fixtures."""
    return load_public_key_pem((CONTAINERS_FIXTURES / name).read_bytes())


@dataclass(frozen=True)
class SigstoreAttachment:
    """One ``signature-N`` file of a containers/image ``dir:`` image: a layer of cosign's ``.sig`` manifest."""

    mime_type: str
    payload: bytes
    annotations: dict[str, str]


def read_signature_file(path: Path) -> SigstoreAttachment:
    """Parse containers/image's on-disk signature: ``0x00`` + ``sigstore-json\\n`` + JSON (vectors README §1)."""
    data = path.read_bytes()
    assert data[:1] == b"\x00", "not a sigstore-json signature file"
    name, newline, chunk = data[1:].partition(b"\n")
    assert newline and name == b"sigstore-json"
    doc = json.loads(chunk)
    assert set(doc) == {"mimeType", "payload", "annotations"}
    return SigstoreAttachment(doc["mimeType"], base64.b64decode(doc["payload"]), dict(doc["annotations"]))


def put_bytes(store: ArtifactStore, media_type: str, content: bytes, **kwargs: Any) -> Descriptor:
    desc = Descriptor.for_bytes(media_type, content, **kwargs)
    store.put_blob(desc, [content])
    return desc


def put_sig_manifest(
    store: ArtifactStore, subject: Digest, layers: Sequence[tuple[Descriptor, bytes | None]]
) -> Manifest:
    """Store a cosign-style ``.sig`` manifest of ``layers`` (blob bytes, or ``None`` to store no blob)."""
    for desc, content in layers:
        if content is not None:
            store.put_blob(desc, [content])
    manifest, config = build_signature_manifest([desc for desc, _ in layers])
    store.put_blob(manifest.config, [config])
    store.put_manifest(manifest, tag=attachment_tag(subject, AttachmentKind.SIGNATURE))
    return manifest


def load_cosign_fixture(store: ArtifactStore, name: str, *, tag: str = "image") -> Digest | None:
    """Load ``dir-img-cosign-<name>`` into ``store``: ``manifest.json`` as the image (tagged ``tag``), every
    ``signature-N`` as a layer of the ``.sig`` manifest of the digest its payload claims (or of the image).

    Returns the image digest (``None`` when the fixture has no manifest).
    """
    folder = CONTAINERS_FIXTURES / f"dir-img-cosign-{name}"
    image_digest = None
    manifest_path = folder / "manifest.json"
    if manifest_path.exists():
        raw = manifest_path.read_bytes()
        image = parse_manifest(raw)
        store.put_manifest(image, tag=tag)
        image_digest = image.digest
    attachments = []
    n = 1
    while (folder / f"signature-{n}").exists():
        attachments.append(read_signature_file(folder / f"signature-{n}"))
        n += 1
    if not attachments:
        return image_digest
    # containers/image reads the signatures of the image; the registry keeps them at the image's .sig tag.
    target = image_digest or Digest.parse(json.loads(attachments[0].payload)["critical"]["image"]
                                          ["docker-manifest-digest"])
    layers = [(Descriptor.for_bytes(a.mime_type, a.payload, annotations=a.annotations), a.payload)
              for a in attachments]
    put_sig_manifest(store, target, layers)
    return image_digest


def new_key(algorithm: str = "ecdsa-p256") -> KeyPair:
    return generate_key_pair(algorithm)


def raw_manifest(doc: dict[str, Any]) -> Manifest:
    """A manifest object for ``doc`` without the model's caps (to store hostile manifests in a layout)."""
    raw = encode_json(doc)
    layers = tuple(Descriptor.from_json(layer) for layer in doc.get("layers", [])[:1])
    config = Descriptor.from_json(doc["config"])
    return Manifest(raw, MediaType.OCI_MANIFEST, config, layers)


class CountingStore:
    """An ``ArtifactStore`` proxy that counts blob reads (to prove caps are checked before reading)."""

    def __init__(self, inner: ArtifactStore) -> None:
        self.inner = inner
        self.blob_reads: list[Digest] = []

    @property
    def name(self) -> str:
        return self.inner.name

    def get_blob(self, desc: Descriptor, *, limit: int | None = None) -> bytes:
        self.blob_reads.append(desc.digest)
        return self.inner.get_blob(desc, limit=limit)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.inner, attribute)


class TerminalInput(io.BytesIO):
    """What a user types at a terminal: a stdin that is a TTY, so the CLI may prompt on it."""

    def isatty(self) -> bool:
        return True


def typed(text: str) -> TerminalInput:
    """``text`` typed at a terminal (``run_cli(..., input=typed("pw\\n"))``)."""
    return TerminalInput(text.encode())


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        """stderr without the password prompts."""
        return [line for line in self.stderr.strip().splitlines() if not line.startswith("Enter password")]

    def one_line_error(self) -> str:
        """The ``error:`` line of stderr, asserting it is all of stderr but a ``hint:`` line, with no traceback."""
        lines = self.stderr.strip().splitlines()
        assert lines and lines[0].startswith("error: "), self.stderr
        assert all(line.startswith("hint: ") for line in lines[1:]) and len(lines) <= 2, self.stderr
        assert "Traceback" not in self.stderr
        return lines[0]

    def assert_one_line_error(self, code: int, *fragments: str) -> None:
        """A clear ``error:`` line (plus at most a ``hint:`` line), the exit code, no traceback."""
        assert self.code == code, self
        assert "Traceback" not in self.stderr
        lines = [line for line in self.stderr.strip().splitlines() if line.startswith(("error: ", "hint: "))]
        assert lines and lines[0].startswith("error: ") and len(lines) <= 2, self.stderr
        for fragment in fragments:
            assert fragment in lines[0], (fragment, lines[0])


def run_cli(args: list[str], *, env: dict[str, str | None] | None = None,
            input: str | bytes | IO[Any] | None = None) -> CliResult:
    """``supplychain ARGS`` through the one boundary (``cli.main.main``), isolated stdio with ``input`` as standard
    input (a terminal only when ``input`` says so, as ``TerminalInput`` does), no password variables unless ``env``
    gives them."""
    from click.testing import CliRunner

    from supplychain.cli.main import main

    base: dict[str, str | None] = {"SUPPLYCHAIN_PASSWORD": None, "COSIGN_PASSWORD": None}
    with CliRunner().isolation(input=input, env={**base, **(env or {})}) as (stdout, stderr, _):
        try:
            main(args)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        else:
            code = 0
        return CliResult(code, stdout.getvalue().decode(), stderr.getvalue().decode())


def generate_cli_key_pair(prefix: Path, password: str) -> tuple[Path, Path]:
    """``supplychain generate-key-pair --output-key-prefix PREFIX`` with ``password``: ``(PREFIX.key, PREFIX.pub)``,
    a TEST-ONLY cosign-format pair made by the command users run."""
    result = run_cli(["generate-key-pair", "--output-key-prefix", str(prefix)], env={"SUPPLYCHAIN_PASSWORD": password})
    assert result.code == 0, result
    return Path(f"{prefix}.key"), Path(f"{prefix}.pub")


def run_cli_in(docker_config: Path, args: list[str], input: str | bytes | IO[Any] | None = None) -> CliResult:
    """``run_cli`` with ``docker_config`` as the docker config directory (credentials, certs) and no insecure
    registries from the environment."""
    return run_cli(args, env={"DOCKER_CONFIG": str(docker_config), "SUPPLYCHAIN_INSECURE_REGISTRIES": None},
                   input=input)

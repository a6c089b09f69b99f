"""Image references, parsed and normalised exactly as docker does (distribution/reference grammar).

``[registry[:port]/]path[:tag][@digest]``: no registry means ``docker.io``; a one-component Docker Hub path means
``library/<name>``; no tag and no digest means ``latest``; the first component names a registry when it holds a
``.`` or a ``:`` or is ``localhost`` (or is an IPv6 literal in brackets). A tag and a digest may both be given:
the digest wins, the tag is kept for display.

``oci:PATH[:tag|@digest]`` names an image in an OCI image layout on disk (skopeo's ``oci:`` transport).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from supplychain.digest import Digest
from supplychain.errors import InvalidDigestError, InvalidReferenceError

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
_LEGACY_HUB_NAMES = {"index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
DEFAULT_TAG = "latest"
MAX_NAME_LENGTH = 255  # distribution/reference NameTotalLengthMax

# distribution/reference regexp.go
_PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(
    rf"^(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$"
)


@dataclass(frozen=True, slots=True)
class ImageReference:
    """A normalised reference to an image in a registry."""

    registry: str
    repository: str
    tag: str | None = None
    digest: Digest | None = None

    @property
    def name(self) -> str:
        """``registry/repository``: what cosign signs as the docker-reference."""
        return f"{self.registry}/{self.repository}"

    @property
    def identifier(self) -> str:
        """What to ask the registry for: the digest if known, else the tag (``latest`` by default)."""
        if self.digest is not None:
            return str(self.digest)
        return self.tag or DEFAULT_TAG

    @property
    def api_host(self) -> str:
        """The host that serves the distribution API (Docker Hub's API lives on another name)."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    def with_digest(self, digest: Digest) -> ImageReference:
        return replace(self, digest=digest)

    def with_tag(self, tag: str | None) -> ImageReference:
        return replace(self, tag=tag, digest=None)

    def __str__(self) -> str:
        out = self.name
        if self.tag is not None:
            out += f":{self.tag}"
        if self.digest is not None:
            out += f"@{self.digest}"
        return out


@dataclass(frozen=True, slots=True)
class LayoutReference:
    """An image in an OCI image layout directory: ``oci:PATH[:tag|@digest]``."""

    path: str
    tag: str | None = None
    digest: Digest | None = None

    @property
    def name(self) -> str:
        return f"oci:{self.path}"

    @property
    def identifier(self) -> str:
        if self.digest is not None:
            return str(self.digest)
        return self.tag or DEFAULT_TAG

    def with_digest(self, digest: Digest) -> LayoutReference:
        return replace(self, digest=digest)

    def with_tag(self, tag: str | None) -> LayoutReference:
        return replace(self, tag=tag, digest=None)

    def __str__(self) -> str:
        out = self.name
        if self.digest is not None:
            return f"{out}@{self.digest}"
        if self.tag is not None:
            out += f":{self.tag}"
        return out


AnyReference = ImageReference | LayoutReference


def parse_reference(text: str) -> AnyReference:
    """Parse an image reference or an ``oci:`` layout reference."""
    if text.startswith("oci:"):
        return parse_layout_reference(text)
    return parse_image_reference(text)


def parse_image_reference(text: str) -> ImageReference:
    """Parse and normalise a registry image reference; raise ``InvalidReferenceError`` when malformed."""
    if not text or text != text.strip():
        raise InvalidReferenceError(f"invalid reference {text!r}: empty or surrounded by spaces")
    remainder = text
    digest = None
    if "@" in remainder:
        remainder, _, digest_text = remainder.partition("@")
        try:
            digest = Digest.parse(digest_text)
        except InvalidDigestError as exc:
            raise InvalidReferenceError(f"invalid reference {text!r}: {exc.message}") from exc
    tag = None
    # A tag follows the last ':' only if that ':' comes after the last '/' (else it is a registry port).
    colon = remainder.rfind(":")
    if colon > remainder.rfind("/"):
        remainder, tag = remainder[:colon], remainder[colon + 1 :]
        if not _TAG.match(tag):
            raise InvalidReferenceError(
                f"invalid reference {text!r}: tag {tag!r} must be 1-128 of [A-Za-z0-9_.-], not starting with . or -"
            )
    if not remainder:
        raise InvalidReferenceError(f"invalid reference {text!r}: no repository name")
    registry, path = _split_registry(remainder)
    if registry is not None and not _DOMAIN.match(registry):
        raise InvalidReferenceError(f"invalid reference {text!r}: bad registry host {registry!r}")
    components = path.split("/")
    for component in components:
        if not _PATH_COMPONENT.match(component):
            problem = "uppercase letters" if component.lower() != component else "characters"
            raise InvalidReferenceError(
                f"invalid reference {text!r}: repository component {component!r} has invalid {problem} "
                "(lowercase letters, digits and . _ __ - separators only)"
            )
    registry = registry or DOCKER_HUB
    if registry in _LEGACY_HUB_NAMES:
        registry = DOCKER_HUB
    if registry == DOCKER_HUB and len(components) == 1:
        path = f"library/{path}"
    if len(registry) + 1 + len(path) > MAX_NAME_LENGTH:
        raise InvalidReferenceError(f"invalid reference {text!r}: name longer than {MAX_NAME_LENGTH} characters")
    if tag is None and digest is None:
        tag = DEFAULT_TAG
    return ImageReference(registry, path, tag, digest)


def _split_registry(name: str) -> tuple[str | None, str]:
    first, sep, rest = name.partition("/")
    if sep and (("." in first or ":" in first) or first == "localhost" or first.startswith("[")):
        return first, rest
    return None, name


def parse_layout_reference(text: str) -> LayoutReference:
    """Parse ``oci:PATH[:tag|@digest]`` (a ``:`` after the last ``/`` starts the tag, as skopeo reads it)."""
    body = text[len("oci:") :]
    digest = None
    if "@" in body:
        body, _, digest_text = body.rpartition("@")
        try:
            digest = Digest.parse(digest_text)
        except InvalidDigestError as exc:
            raise InvalidReferenceError(f"invalid layout reference {text!r}: {exc.message}") from exc
    tag = None
    colon = body.rfind(":")
    if colon > body.rfind("/"):
        body, tag = body[:colon], body[colon + 1 :]
        if not tag or not _TAG.match(tag):
            raise InvalidReferenceError(f"invalid layout reference {text!r}: bad tag {tag!r}")
    if not body:
        raise InvalidReferenceError(f"invalid layout reference {text!r}: no directory", hint="write oci:PATH[:tag]")
    if tag is None and digest is None:
        tag = DEFAULT_TAG
    return LayoutReference(body, tag, digest)

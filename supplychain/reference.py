"""Image references, parsed and normalised exactly as docker does (distribution/reference grammar).

``[registry[:port]/]path[:tag][@digest]``: no registry means ``docker.io``; a one-component Docker Hub path means
``library/<name>``; no tag and no digest means ``latest``; the first component names a registry when it holds a
``.`` or a ``:`` or is ``localhost`` (or is an IPv6 literal in brackets). A tag and a digest may both be given:
the digest wins, the tag is kept for display.

``docker://`` (skopeo's name for the registry transport) may prefix a registry reference.

``oci:PATH[:REF]`` names an image in an OCI image layout on disk, split as skopeo's ``oci:`` transport splits it
(containers/image ``oci/internal.SplitPathAndImage``): at the first ``:`` after ``oci:``, so PATH has no colon and
REF is an ``org.opencontainers.image.ref.name`` (annotations.md), which may hold ``/``, ``:``, ``@`` and ``+``.
``oci:PATH@sha256:<hex>`` and ``oci:PATH:@sha256:<hex>`` name a manifest by digest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from supplychain.digest import Digest
from supplychain.errors import InvalidDigestError, InvalidReferenceError

__all__ = [
    "DEFAULT_TAG",
    "DOCKER_HUB",
    "DOCKER_HUB_API",
    "MAX_NAME_LENGTH",
    "MAX_PORT",
    "REF_NAME_PATTERN",
    "TAG_HINT",
    "AnyReference",
    "ImageReference",
    "LayoutReference",
    "is_path_component",
    "is_ref_name",
    "is_repository_path",
    "is_tag",
    "names_registry",
    "parse_image_reference",
    "parse_layout_reference",
    "parse_reference",
]

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
_LEGACY_HUB_NAMES = {"index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
DEFAULT_TAG = "latest"
MAX_NAME_LENGTH = 255  # distribution/reference NameTotalLengthMax

# distribution/reference regexp.go, the one copy of the registry name grammar. Always used with fullmatch and
# ASCII classes: Go's \w is ASCII (Python's matches "é"), and a "$" anchor would accept a trailing newline.
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*", re.ASCII)
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", re.ASCII)
TAG_HINT = "a tag is 1-128 of [A-Za-z0-9_.-], not starting with . or -"
# annotations.md "org.opencontainers.image.ref.name"; containers/image oci/internal refRegexp (skopeo's check).
_REF_NAME_COMPONENT = r"[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*"
REF_NAME_PATTERN = re.compile(rf"{_REF_NAME_COMPONENT}(?:/{_REF_NAME_COMPONENT})*")
MAX_PORT = 65535
# Transports of skopeo (containers/image) other than docker:// and oci:, which have no meaning here.
_OTHER_TRANSPORTS = ("docker-archive:", "oci-archive:", "containers-storage:", "docker-daemon:", "dir:", "ostree:",
                     "sif:", "tarball:")
_DIGEST_ALGORITHMS = ("sha256", "sha512")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(
    rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::(?P<port>[0-9]+))?"
)


def is_tag(text: str) -> bool:
    """Whether ``text`` is a tag (distribution/reference ``tag``: 1-128 of ``[A-Za-z0-9_.-]``, not starting with
    ``.`` or ``-``; ASCII only)."""
    return _TAG.fullmatch(text) is not None


def is_path_component(text: str) -> bool:
    """Whether ``text`` is one ``/``-separated component of a repository name (distribution/reference
    ``path-component``: lowercase letters and digits, separated by ``.``, ``_``, ``__`` or dashes)."""
    return _PATH_COMPONENT.fullmatch(text) is not None


def is_repository_path(text: str) -> bool:
    """Whether ``text`` is a repository name below its registry (``library/alpine``): path components joined by
    ``/``."""
    return bool(text) and all(is_path_component(component) for component in text.split("/"))


def is_ref_name(text: str) -> bool:
    """Whether ``text`` is a valid ``org.opencontainers.image.ref.name`` (what an OCI layout tag may be)."""
    return REF_NAME_PATTERN.fullmatch(text) is not None


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
    """Parse an image reference (``docker://`` prefix allowed, as skopeo writes it) or an ``oci:`` layout
    reference. Other skopeo transports are refused with a message naming what is supported."""
    if text.startswith("oci:"):
        return parse_layout_reference(text)
    if text.startswith("docker://"):
        return parse_image_reference(text[len("docker://") :])
    for prefix in _OTHER_TRANSPORTS:
        if text.startswith(prefix):
            raise InvalidReferenceError(
                f"invalid reference {text!r}: the {prefix[:-1]} transport is not supported",
                hint="supported: registry references ([docker://]registry/name[:tag][@digest]) and OCI layouts "
                "(oci:PATH[:tag|@digest]); convert with e.g. `skopeo copy " + prefix + "... oci:DIR:tag`. "
                "A Docker Hub image of that name is written docker.io/library/NAME",
            )
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
        if not is_tag(tag):
            raise InvalidReferenceError(
                f"invalid reference {text!r}: tag {tag!r} must be 1-128 of [A-Za-z0-9_.-], not starting with . or -"
            )
    if not remainder:
        raise InvalidReferenceError(f"invalid reference {text!r}: no repository name")
    registry, path = _split_registry(remainder)
    if registry is not None:
        domain = _DOMAIN.fullmatch(registry)
        if domain is None:
            raise InvalidReferenceError(f"invalid reference {text!r}: bad registry host {registry!r}")
        port = domain.group("port")
        if port is not None and not 1 <= int(port) <= MAX_PORT:
            raise InvalidReferenceError(
                f"invalid reference {text!r}: registry port {port} is outside 1-{MAX_PORT}"
            )
    components = path.split("/")
    for component in components:
        if not is_path_component(component):
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


def names_registry(text: str) -> bool:
    """Whether the reference ``text`` names its registry itself (docker's rule, the module docstring), rather than
    meaning Docker Hub by default: ``registry.example.com/app``, ``localhost:5000/app``, not ``app`` or ``a/b``."""
    return _split_registry(text)[0] is not None


def _split_registry(name: str) -> tuple[str | None, str]:
    first, sep, rest = name.partition("/")
    if sep and (("." in first or ":" in first) or first == "localhost" or first.startswith("[")):
        return first, rest
    return None, name


def parse_layout_reference(text: str) -> LayoutReference:
    """Parse ``oci:PATH[:REF]``, ``oci:PATH@<digest>`` or ``oci:PATH:@<digest>``.

    As skopeo: PATH ends at the first ``:`` and REF (the rest, ``/`` and ``:`` included) must match the
    ``org.opencontainers.image.ref.name`` grammar. ``PATH@sha256:<hex>`` (which skopeo would read as the
    directory ``PATH@sha256``) and ``PATH:@sha256:<hex>`` name a manifest by digest.
    """
    body = text[len("oci:") :]
    path, colon, ref = body.partition(":")
    digest = None
    tag = None
    if colon and ref.startswith("@"):
        digest = _layout_digest(ref[1:], text)
    elif colon and path.rpartition("@")[2] in _DIGEST_ALGORITHMS and "@" in path:
        path, _, algorithm = path.rpartition("@")
        digest = _layout_digest(f"{algorithm}:{ref}", text)
    elif colon:
        if not is_ref_name(ref):
            raise InvalidReferenceError(
                f"invalid layout reference {text!r}: bad tag {ref!r}",
                hint="an OCI layout tag (org.opencontainers.image.ref.name) is letters and digits separated by one "
                "of - . _ : @ + or --, in components joined by /; the directory ends at the first ':' "
                "(write oci:PATH[:tag|@digest])",
            )
        tag = ref
    if not path:
        raise InvalidReferenceError(f"invalid layout reference {text!r}: no directory", hint="write oci:PATH[:tag]")
    if tag is None and digest is None:
        tag = DEFAULT_TAG
    return LayoutReference(path, tag, digest)


def _layout_digest(digest_text: str, text: str) -> Digest:
    try:
        return Digest.parse(digest_text)
    except InvalidDigestError as exc:
        raise InvalidReferenceError(f"invalid layout reference {text!r}: {exc.message}") from exc

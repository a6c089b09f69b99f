"""The errors of an OCI image layout that cannot be used: missing, not a layout, damaged, or refused by the
file system. Each carries its hint (``supplychain.errors``); library messages never name CLI flags."""

from __future__ import annotations

from supplychain.errors import InvalidInputError, NotFoundError


class LayoutError(InvalidInputError):
    """A directory that cannot be used as an OCI image layout."""

    default_hint = (
        "give the directory of an OCI image layout (oci-layout, index.json, blobs/), as written by "
        "skopeo, oras, umoci or `supplychain copy IMAGE oci:DIR`"
    )


class NotALayoutError(LayoutError):
    """The directory has no ``oci-layout`` file, or one of an unsupported version, or is not a directory."""


class LayoutNotFoundError(NotFoundError):
    """The layout directory does not exist (exit status 4, as for a missing image)."""

    default_hint = "check the path, or create a layout with `supplychain copy IMAGE oci:DIR[:tag]`"


class CorruptLayoutError(LayoutError):
    """``index.json`` (or ``oci-layout``) is missing or malformed."""

    default_hint = "the layout was damaged or half-written by another tool; recreate it (e.g. skopeo copy)"


class LayoutIOError(InvalidInputError):
    """The filesystem refused an operation (permissions, disk full, read-only mount).

    Exit status 3, "invalid input: ... file", as for a key file that cannot be written (``keys.KeyFileError``):
    a local file-system failure is about the path the user gave, not a network peer being unavailable (6)."""

    default_hint = "check the layout directory's permissions, free space, and that it is not on a read-only mount"

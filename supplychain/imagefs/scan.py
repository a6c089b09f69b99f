"""One entry point from an ``Image`` to its files: the layer walk, or a ``dir:`` source's directory scan."""

from __future__ import annotations

from collections.abc import Callable

from supplychain.imagefs.directory import scan_directory
from supplychain.imagefs.image import Image
from supplychain.imagefs.view import Keeps, LayerRef, Wants
from supplychain.imagefs.walk import ImageFiles, Scope, WalkLimits, walk_layers


def _no_progress(ref: LayerRef, done: int) -> None:
    return None


def scan_image(image: Image, wants: Wants, *, scope: Scope = Scope.SQUASHED, caps: WalkLimits | None = None,
               progress: Callable[[LayerRef, int], None] = _no_progress, keeps: Keeps | None = None) -> ImageFiles:
    """The files of ``image`` as ``scope`` asks (``walk.walk_layers``); a directory has one view, its own."""
    if image.directory is not None:
        view = scan_directory(image.directory, wants, caps, keeps)
        return ImageFiles(view, (view,) if scope is Scope.ALL_LAYERS else ())
    return walk_layers(image.layers, wants, scope=scope, caps=caps, progress=progress, keeps=keeps)


__all__ = ["scan_image"]

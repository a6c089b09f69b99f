"""``sbom generate``: an image's packages as an ``Inventory`` (issue 12, items 1-3).

One pass: the layers stream once through the walker (``imagefs.scan.scan_image``), which keeps the bytes of only
the files some cataloger ``wants`` and ``keeps`` (``sbom.catalog.wants_any``, ``keeps_any``) and of os-release;
then the distribution is read from the squashed view (``sbom.distro``: what qualifies OS package purls) and each
cataloger reads the view.

Scope, as syft's ``--scope``: ``squashed`` (the default) catalogs what a container sees. ``all-layers`` also
catalogs each layer's own view, so a package that a later layer deleted is listed too, attributed to the layer
that wrote it; a package the squashed view has is listed once, as the squashed view has it (its layer is the one
that last wrote its metadata).

Store-agnostic: the caller opens the image (``imagesource.open_image``) and hands over an ``imagefs.image.Image``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from supplychain.imagefs.image import Image
from supplychain.imagefs.scan import scan_image
from supplychain.imagefs.view import FileView, LayerRef
from supplychain.imagefs.walk import Scope, WalkLimits
from supplychain.sbom import distro as os_release
from supplychain.sbom.catalog import Cataloger, keeps_any, wants_any
from supplychain.sbom.package import Distro, ImageInfo, Inventory, Package, Problem

# The name problems of the walk itself are reported under (a hostile tar entry, a cap reached).
WALK_PROBLEM_SOURCE = "imagefs"

LayerProgress = Callable[[LayerRef, int], None]
"""``progress(layer, compressed_bytes)``: called once per layer, when it has been walked."""


def _no_progress(layer: LayerRef, done: int) -> None:
    return None


def generate_inventory(image: Image, catalogers: Sequence[Cataloger], *, scope: Scope = Scope.SQUASHED,
                       caps: WalkLimits | None = None, progress: LayerProgress = _no_progress) -> Inventory:
    """The packages ``catalogers`` find in ``image`` (module docstring), sorted, with every problem met."""
    cataloged = wants_any(catalogers)

    def wants(path: str, size: int, mode: int) -> bool:  # the catalogers' files, and os-release for the distro
        return os_release.wants(path, size, mode) or cataloged(path, size, mode)

    kept = keeps_any(catalogers)

    def keeps(path: str, mode: int, data: bytes) -> bytes | None:
        return data if os_release.wants(path, len(data), mode) else kept(path, mode, data)

    files = scan_image(image, wants, scope=scope, caps=caps, progress=progress, keeps=keeps)
    squashed = files.squashed
    distro = os_release.read_distro(squashed)
    packages, problems = _catalog(squashed, catalogers, distro)
    if scope is Scope.ALL_LAYERS:
        seen = {_identity(package) for package in packages}
        for view in files.layers:
            found, bad = _catalog(view, catalogers, distro)
            problems += bad
            for package in found:
                if _identity(package) not in seen:
                    seen.add(_identity(package))
                    packages.append(package)
    walk_problems = [Problem(WALK_PROBLEM_SOURCE, "", message) for message in squashed.problems]
    info = ImageInfo(name=image.name, digest=image.digest, platform=image.platform, labels=image.labels,
                     layers=squashed.layers, created=image.created)
    return Inventory(info, distro, tuple(sorted(packages)), tuple(walk_problems + _unique(problems)))


def _catalog(view: FileView, catalogers: Sequence[Cataloger], distro: Distro | None
             ) -> tuple[list[Package], list[Problem]]:
    packages: list[Package] = []
    problems: list[Problem] = []
    for cataloger in catalogers:
        found = cataloger.catalog(view, distro)
        packages += found.packages
        problems += found.problems
    return packages, problems


def _identity(package: Package) -> tuple[str, str]:
    """What makes two findings one package in ``all-layers``: the same purl at the same metadata path."""
    return package.purl, package.locations[0] if package.locations else ""


def _unique(problems: list[Problem]) -> list[Problem]:
    """Each problem once, in the order met (every layer's view repeats the squashed view's broken files)."""
    return list(dict.fromkeys(problems))


__all__ = ["WALK_PROBLEM_SOURCE", "LayerProgress", "generate_inventory"]

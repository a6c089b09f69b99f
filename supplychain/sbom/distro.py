"""The distribution an image's ``os-release`` names (os-release(5)), and the purl ``distro=`` qualifier it gives OS
packages (issue 12, item 3).

os-release(5): "The file /etc/os-release takes precedence over /usr/lib/os-release"; on Debian and most others
``etc/os-release`` is a symlink to ``../usr/lib/os-release``. The symlink is followed through the view
(``FileView.resolve``: its entries, never the host's filesystem; a link that climbs above the root or loops
names no file).
"""

from __future__ import annotations

import shlex

from supplychain.imagefs.view import FileView
from supplychain.limits import MAX_PACKAGE_METADATA_BYTES
from supplychain.sbom.package import Distro

OS_RELEASE_PATHS = ("etc/os-release", "usr/lib/os-release")


def wants(path: str, size: int, mode: int) -> bool:
    """The os-release files, for the walker (both: ``etc/os-release`` may be a symlink to the other)."""
    return path in OS_RELEASE_PATHS and size <= MAX_PACKAGE_METADATA_BYTES


def parse_os_release(text: str) -> Distro | None:
    """os-release(5) ``KEY=value`` lines (shell quoting) as a ``Distro``; ``None`` without an ``ID``."""
    fields: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        try:
            words = shlex.split(value)
        except ValueError:  # an unterminated quote: os-release(5) says such lines are ignored
            continue
        fields[key.strip()] = " ".join(words)
    if not fields.get("ID"):
        return None
    return Distro(
        id=fields["ID"],
        version_id=fields.get("VERSION_ID") or None,
        version_codename=fields.get("VERSION_CODENAME") or None,
        pretty_name=fields.get("PRETTY_NAME") or None,
        id_like=tuple(fields.get("ID_LIKE", "").split()),
    )


def read_distro(view: FileView) -> Distro | None:
    """The distribution of ``view`` (``etc/os-release`` first, then ``usr/lib/os-release``), or ``None``."""
    for path in OS_RELEASE_PATHS:
        entry = view.resolve(path)
        if entry is not None and entry.data is not None:
            distro = parse_os_release(entry.data.decode("utf-8", errors="replace"))
            if distro is not None:
                return distro
    return None


def distro_qualifier(distro: Distro | None) -> str | None:
    """The purl ``distro=`` value syft writes: ``<ID>-<VERSION_ID>`` (``debian-12``, ``alpine-3.20.3``), the ID
    alone when there is no VERSION_ID (Debian sid, Arch)."""
    if distro is None:
        return None
    return f"{distro.id}-{distro.version_id}" if distro.version_id else distro.id


__all__ = ["OS_RELEASE_PATHS", "distro_qualifier", "parse_os_release", "read_distro", "wants"]

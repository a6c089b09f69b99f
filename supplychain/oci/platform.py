"""Choosing a platform's manifest from an index (``--platform os/arch[/variant]``, default: the host)."""

from __future__ import annotations

import platform as _host

from supplychain.errors import NotFoundError
from supplychain.oci.model import Descriptor, Index, Platform

# Python's machine names to GOARCH, which is what image indexes use.
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "armv7l": "arm",
         "i386": "386", "i686": "386", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def host_platform() -> Platform:
    """The platform of this machine in image-index terms (linux/amd64, linux/arm64/v8...)."""
    machine = _host.machine().lower()
    arch = _ARCH.get(machine, machine)
    variant = "v8" if arch == "arm64" else ("v7" if machine == "armv7l" else None)
    return Platform("linux", arch, variant)


def matches(candidate: Platform | None, wanted: Platform) -> bool:
    """Whether an index entry's platform satisfies ``wanted``: os and arch equal; a variant asked for
    must match, and arm64 entries without a variant count as v8 (as containerd's matcher does)."""
    if candidate is None:
        return False
    if candidate.os != wanted.os or candidate.architecture != wanted.architecture:
        return False
    if wanted.variant is None:
        return True
    have = candidate.variant or ("v8" if candidate.architecture == "arm64" else None)
    return have == wanted.variant


def select_platform(index: Index, wanted: Platform | None = None) -> Descriptor:
    """The entry of ``index`` for ``wanted`` (default: this machine's platform, as docker pulls);
    attestation entries (``unknown/unknown``) never match."""
    if wanted is None:
        wanted = host_platform()
    for desc in index.manifests:
        if matches(desc.platform, wanted):
            return desc
    available = ", ".join(str(d.platform) for d in index.manifests if d.platform and d.platform.os != "unknown")
    raise NotFoundError(
        f"no manifest for platform {wanted} in the index",
        hint=f"available: {available or 'none'}; choose one with --platform",
    )

"""Realistic ``Inventory`` values for the writer, diff and attach tests: what the catalogers find in a Debian 12
image with Python and npm packages (names, versions and purls as syft 1.18.1 reports them for the fixture image).
"""

from __future__ import annotations

import dataclasses

from supplychain.imagefs.view import LayerRef
from supplychain.sbom.package import Distro, ImageInfo, Inventory, Package

BASE = LayerRef(0, "sha256:" + "1a" * 32, "sha256:2b51e902f2764870a690fe56bd25043a6f96565312a8ec1830dc8ac77e73d35a")
APT = LayerRef(1, "sha256:" + "3c" * 32, "sha256:" + "4d" * 32)
PIP = LayerRef(2, "sha256:" + "5e" * 32, "sha256:9444142a68b224930037e57651d4d91726bdd750bc37b6229f8003d5886fa9db")


def deb(name: str, version: str, *, arch: str = "amd64", layer: LayerRef = BASE,
        licenses: tuple[str, ...] = ()) -> Package:
    from packageurl import PackageURL

    purl = PackageURL(type="deb", namespace="debian", name=name, version=version,
                      qualifiers={"arch": arch, "distro": "debian-12"}).to_string()
    return Package("deb", name, version, purl,
                   ("var/lib/dpkg/status",), licenses, layer, "dpkg", (("architecture", arch),))


def pypi(name: str, version: str, *, licenses: tuple[str, ...] = ("MIT",)) -> Package:
    path = f"usr/lib/python3/dist-packages/{name.replace('-', '_')}-{version}.dist-info/METADATA"
    return Package("pypi", name, version, f"pkg:pypi/{name}@{version}", (path,), licenses, PIP, "python")


def npm(name: str, version: str, *, licenses: tuple[str, ...] = ("MIT",)) -> Package:
    path = f"app/node_modules/{name}/package.json"
    return Package("npm", name, version, f"pkg:npm/{name}@{version}", (path,), licenses, PIP, "npm")


def inventory(packages: tuple[Package, ...] | None = None, **image: object) -> Inventory:
    """The fixture image's inventory (or one with ``packages``); ``image`` overrides ``ImageInfo`` fields."""
    if packages is None:
        packages = (
            deb("base-files", "12.4+deb12u5"),
            deb("bash", "5.2.15-2+b2", layer=APT, licenses=("GPL-3.0-or-later",)),
            deb("ca-certificates", "20230311", arch="all", layer=APT, licenses=("GPL-2.0-or-later", "MPL-2.0")),
            deb("libc6", "2.36-9+deb12u4", licenses=("LGPL-2.1-or-later", "GPL-2.0-or-later AND LicenseRef-Unicode")),
            deb("tzdata", "2024a-0+deb12u1", arch="all", licenses=("LicenseRef-public-domain",)),
            deb("zlib1g", "1:1.2.13.dfsg-1", licenses=("Zlib",)),
            pypi("certifi", "2023.7.22", licenses=("MPL-2.0",)),
            pypi("requests", "2.31.0", licenses=("Apache-2.0",)),
            pypi("urllib3", "2.0.7"),
            npm("express", "4.18.2"),
            npm("lodash", "4.17.21"),
            npm("ms", "2.0.0"),
            npm("ms", "2.1.3"),
        )
    info = ImageInfo(
        name="registry.example.com/fixture/app:1.0",
        digest="sha256:6eabd4333ae758a6d38c65356c5ccb9153aba863a7a761cac3f5cdb37deeb576",
        platform="linux/amd64",
        labels=(("org.opencontainers.image.created", "2024-01-01T00:00:00Z"),
                ("org.opencontainers.image.licenses", "Apache-2.0"),
                ("org.opencontainers.image.source", "https://github.com/example/supplychain-fixture"),
                ("org.opencontainers.image.title", "supplychain-fixture"),
                ("org.opencontainers.image.version", "1.0.0")),
        layers=(BASE, APT, PIP),
        created="2024-01-01T00:00:00Z",
    )
    info = dataclasses.replace(info, **image)  # type: ignore[arg-type]
    return Inventory(info, Distro("debian", "12", "bookworm", "Debian GNU/Linux 12 (bookworm)"),
                     tuple(sorted(packages)))


def many_packages(count: int) -> Inventory:
    """An inventory of ``count`` Debian packages (the timing measurements' 300-package image)."""
    return inventory(tuple(deb(f"lib{i:04d}-tools", f"1.{i}.0-{i % 7}+b1", licenses=("GPL-2.0-only",))
                           for i in range(count)))

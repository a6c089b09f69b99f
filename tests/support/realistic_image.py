"""The realistic image of issue 12's accuracy tests and ``bench/sbom.py``, built from real parts by real tools.

Layers, each made by ``umoci repack`` (a real OCI implementation: it computes each layer as the changeset of the
root filesystem since the last repack, whiteouts included):

0. a Debian bookworm root filesystem, ``debootstrap --variant=minbase`` through the machine's Debian mirror;
1. Debian packages installed by apt inside it (``APT_PACKAGES``, with their dependencies);
2. pinned Python distributions (``PIP_PACKAGES``: real wheels from PyPI, installed by pip into the image's
   ``dist-packages`` with ``--target``: the image has no Python of its own to run pip);
3. pinned npm packages (``NPM_PACKAGES``, installed by npm under ``/app``) and a Go binary built in module mode
   with a local dependency (``/usr/local/bin/hello``: Debian's own Go binaries carry no module information);
4. deletions: one Python distribution and one npm package removed (whiteouts), one Debian package purged by dpkg.

The result is an OCI image layout with the tag ``realistic``, built once per recipe and kept in the cache
(``$SUPPLYCHAIN_TEST_CACHE``, else ``~/.cache/supplychain-tests``): about two minutes the first time. Needs root
(debootstrap, chroot), network to the package registries, and Debian's debootstrap, umoci and golang-go, npm and
pip (``.ci/run`` installs them). ``RealisticImage.ground_truth`` is what each layer added, computed here from the
builds themselves, for the layer-attribution checks.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TAG = "realistic"
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
APT_PACKAGES = ("ca-certificates", "curl", "libexpat1", "xz-utils")
PURGED_PACKAGE = "xz-utils"  # removed again in layer 4
PIP_PACKAGES = ("six==1.16.0", "idna==3.7", "urllib3==2.2.2", "certifi==2024.7.4", "requests==2.32.3",
                "charset-normalizer==3.3.2", "packaging==24.1")
REMOVED_PIP = "six"
NPM_PACKAGES = ("is-number@7.0.0", "left-pad@1.3.0", "ms@2.1.3", "kind-of@6.0.3")
REMOVED_NPM = "left-pad"
SITE_PACKAGES = "usr/local/lib/python3.11/dist-packages"
LABELS = {"org.opencontainers.image.source": "https://example.test/realistic",
          "org.opencontainers.image.version": "1.0.0", "org.opencontainers.image.licenses": "Apache-2.0"}
RECIPE_VERSION = 2

_GO_MAIN = """package main

import (
\t"fmt"

\t"example.test/greet"
)

func main() { fmt.Println(greet.Hello()) }
"""
_GO_MOD = ("module example.test/hello\n\ngo 1.19\n\nrequire example.test/greet v0.1.0\n\n"
           "replace example.test/greet => ./greet\n")
_GREET = 'package greet\n\nfunc Hello() string { return "hello" }\n'


@dataclass(frozen=True)
class RealisticImage:
    """The built image: its layout, tag, and what each layer added (``ground_truth``: ``{layer index: [purl-ish
    keys]}``, from the builds: ``deb:NAME``, ``pypi:NAME``, ``npm:NAME``, ``go:MODULE``)."""

    layout: Path
    tag: str
    ground_truth: dict[str, list[str]]

    @property
    def reference(self) -> str:
        return f"oci:{self.layout}:{self.tag}"


def cache_dir() -> Path:
    return Path(os.environ.get("SUPPLYCHAIN_TEST_CACHE") or Path.home() / ".cache" / "supplychain-tests")


def recipe_hash() -> str:
    recipe = [RECIPE_VERSION, SUITE, APT_PACKAGES, PURGED_PACKAGE, PIP_PACKAGES, REMOVED_PIP, NPM_PACKAGES,
              REMOVED_NPM, sorted(LABELS.items()), _GO_MAIN, _GO_MOD, _GREET]
    return hashlib.sha256(json.dumps(recipe).encode()).hexdigest()[:16]


def cached_layout(name: str, recipe: str, build: Callable[[Path], Path], *, done: str = "index.json") -> Path:
    """The layout ``cache_dir()/<name>-<recipe>``, built by ``build(work)`` (which returns the layout it made in
    ``work``) first if needed: in a temporary directory beside it, renamed into place when complete, so that an
    interrupted build leaves nothing a later run would take as done (``done`` is the file written last)."""
    target = cache_dir() / f"{name}-{recipe}"
    if not (target / done).is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f"{name}-", dir=target.parent) as tmp:
            layout = build(Path(tmp))
            if not (target / done).is_file():
                shutil.rmtree(target, ignore_errors=True)
                layout.rename(target)
    return target


def realistic_image() -> RealisticImage:
    """The cached image, built first if needed."""
    def build(work: Path) -> Path:
        truth = _build(work)
        (work / "layout" / "ground-truth.json").write_text(json.dumps(truth, indent=1, sort_keys=True))
        return work / "layout"

    target = cached_layout("realistic", recipe_hash(), build, done="ground-truth.json")
    truth = json.loads((target / "ground-truth.json").read_text())
    return RealisticImage(target, TAG, truth)


def _run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True,
                          text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def _build(work: Path) -> dict[str, list[str]]:
    layout, bundle = work / "layout", work / "bundle"
    image = f"{layout}:{TAG}"
    _run("umoci", "init", "--layout", layout)
    _run("umoci", "new", "--image", image)
    _run("umoci", "unpack", "--image", image, bundle)
    rootfs = bundle / "rootfs"
    truth: dict[str, list[str]] = {}

    # 0: Debian minbase
    _run("debootstrap", "--variant=minbase", SUITE, rootfs, MIRROR)
    truth["0"] = [f"deb:{name}" for name in _installed_debs(rootfs)]
    _run("umoci", "repack", "--refresh-bundle", "--image", image, bundle)

    # 1: apt packages (and what they pull in)
    before = set(_installed_debs(rootfs))
    shutil.copy("/etc/resolv.conf", rootfs / "etc" / "resolv.conf")
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    _run("chroot", rootfs, "apt-get", "update", "-q", env=env)
    _run("chroot", rootfs, "apt-get", "install", "-y", "-q", "--no-install-recommends", *APT_PACKAGES, env=env)
    _run("chroot", rootfs, "apt-get", "clean", env=env)
    for leftover in (rootfs / "var" / "lib" / "apt" / "lists").glob("*_dists_*"):
        leftover.unlink()
    truth["1"] = sorted(f"deb:{name}" for name in set(_installed_debs(rootfs)) - before)
    _run("umoci", "repack", "--refresh-bundle", "--image", image, bundle)

    # 2: pinned Python distributions
    _run(sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile", "--only-binary=:all:",
         "--target", rootfs / SITE_PACKAGES, *PIP_PACKAGES)
    shutil.rmtree(rootfs / SITE_PACKAGES / "bin", ignore_errors=True)
    truth["2"] = sorted(f"pypi:{spec.split('==')[0]}" for spec in PIP_PACKAGES)
    _run("umoci", "repack", "--refresh-bundle", "--image", image, bundle)

    # 3: npm packages and a Go binary in module mode
    app = rootfs / "app"
    app.mkdir()
    (app / "package.json").write_text(json.dumps({"name": "realistic-app", "version": "1.0.0", "private": True}))
    _run("npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--prefix", app, *NPM_PACKAGES)
    source = work / "go"
    (source / "greet").mkdir(parents=True)
    (source / "main.go").write_text(_GO_MAIN)
    (source / "go.mod").write_text(_GO_MOD)
    (source / "greet" / "greet.go").write_text(_GREET)
    (source / "greet" / "go.mod").write_text("module example.test/greet\n\ngo 1.19\n")
    _run("go", "build", "-trimpath", "-o", rootfs / "usr" / "local" / "bin" / "hello", ".", cwd=source,
         env={"CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOCACHE": str(work / "gocache"),
              "GOPATH": str(work / "gopath")})
    truth["3"] = sorted([f"npm:{spec.rsplit('@', 1)[0]}" for spec in NPM_PACKAGES]
                        + ["go:example.test/hello", "go:example.test/greet", "go:stdlib"])
    _run("umoci", "repack", "--refresh-bundle", "--image", image, bundle)

    # 4: deletions
    for path in (rootfs / SITE_PACKAGES).glob(f"{REMOVED_PIP}*"):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    shutil.rmtree(app / "node_modules" / REMOVED_NPM)
    _run("chroot", rootfs, "dpkg", "--purge", PURGED_PACKAGE, env=env)
    truth["4-removed"] = [f"pypi:{REMOVED_PIP}", f"npm:{REMOVED_NPM}", f"deb:{PURGED_PACKAGE}"]
    (rootfs / "etc" / "resolv.conf").unlink(missing_ok=True)
    _run("umoci", "repack", "--refresh-bundle", "--image", image, bundle)

    labels = [arg for key, value in sorted(LABELS.items()) for arg in ("--config.label", f"{key}={value}")]
    _run("umoci", "config", "--image", image, *labels)
    _run("umoci", "gc", "--layout", layout)
    return truth


def _installed_debs(rootfs: Path) -> list[str]:
    """The packages dpkg's status file lists as installed (the status is the ground truth dpkg itself keeps)."""
    status = (rootfs / "var" / "lib" / "dpkg" / "status").read_text()
    names = []
    for stanza in status.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line and not line[0].isspace())
        if fields.get("Status") == "install ok installed":
            names.append(fields["Package"])
    return sorted(names)


if __name__ == "__main__":  # python3 -m tests.support.realistic_image: build (or find) it and print where
    built = realistic_image()
    print(built.reference)

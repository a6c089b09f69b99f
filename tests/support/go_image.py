"""An image of Go binaries for the Go cataloger's accuracy test against syft (tests/integration/
test_sbom_accuracy.py), each built here by the machine's Go toolchain (Debian's golang-go, offline) to take one
of syft's main-module rules (``BINARIES``):

- ``ldflags``: module mode, ``-ldflags "-X main.version=1.4.0"``: the version from the build setting;
- ``contents``: module mode, no version anywhere but a NUL-framed ``v3.2.1`` in its data: the version from the
  binary's contents;
- ``file``: ``go build main.go``: the main package is ``command-line-arguments`` and there is no ``mod`` line;
- ``gopath``: ``GO111MODULE=off``, as Debian builds its Go packages: a ``path`` line and nothing else.

One layer made by ``umoci repack``; the layout (tag ``go``) is built once per recipe into the test cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from tests.support.realistic_image import cached_layout

TAG = "go"
RECIPE_VERSION = 1
_MAIN = ('package main\n\nimport "fmt"\n\nvar version = "dev"\n\n// a version as a C string in the data: what syft\'s '
         'search of the contents finds\nvar marker = []byte("\\x00v3.2.1\\x00")\n\n'
         'func main() { fmt.Println(version, len(marker)) }\n')
_TOOL = 'package main\n\nfunc main() { println("tool") }\n'
# name -> (build arguments, extra environment, source directory: "mod" or "gopath")
BINARIES = {
    "ldflags": (["-ldflags", "-X main.version=1.4.0", "."], {}, "mod"),
    "contents": (["."], {}, "mod"),
    "file": (["main.go"], {}, "mod"),
    "gopath": (["."], {"GO111MODULE": "off", "GOFLAGS": ""}, "gopath"),
}


def _go_version() -> str:
    return subprocess.run(["go", "version"], capture_output=True, text=True, check=True).stdout.strip()


def recipe_hash() -> str:
    recipe = [RECIPE_VERSION, _MAIN, _TOOL, sorted((k, v[0], sorted(v[1].items()), v[2]) for k, v in BINARIES.items()),
              _go_version()]
    return hashlib.sha256(json.dumps(recipe).encode()).hexdigest()[:16]


def go_image() -> Path:
    """The cached layout (tag ``go``), built first if needed."""
    return cached_layout("go", recipe_hash(), _build)


def _run(args: list[str | Path], cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True,
                          text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed ({done.returncode}):\n{done.stderr[-3000:]}")


def _build(work: Path) -> Path:
    module, gopath = work / "mod", work / "gopath"
    module.mkdir()
    (module / "go.mod").write_text("module example.com/app\n\ngo 1.19\n")
    (module / "main.go").write_text(_MAIN)
    tool = gopath / "src" / "example.com" / "tool" / "cmd" / "tool"
    tool.mkdir(parents=True)
    (tool / "main.go").write_text(_TOOL)
    layout, bundle = work / "layout", work / "bundle"
    image = f"{layout}:{TAG}"
    _run(["umoci", "init", "--layout", layout])
    _run(["umoci", "new", "--image", image])
    _run(["umoci", "unpack", "--image", image, bundle])
    bin_dir = bundle / "rootfs" / "usr" / "local" / "bin"
    bin_dir.mkdir(parents=True)
    base = {"GOPROXY": "off", "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0", "GOCACHE": str(work / "cache"),
            "GOPATH": str(gopath)}
    for name, (arguments, extra, where) in BINARIES.items():
        _run(["go", "build", "-o", bin_dir / name, *arguments], module if where == "mod" else tool,
             {**base, **extra})
    _run(["umoci", "repack", "--refresh-bundle", "--image", image, bundle])
    return layout

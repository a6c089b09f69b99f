"""``supplychain copy`` against ``skopeo copy``, whole processes, on ``bench/harness.py`` (issue 10, item 6).

Cases, each OCI layout -> registry -> layout (two ``copy`` processes in one ``sh -c``; GNU time reports the
larger peak RSS of the two), against skopeo doing the same two copies:

- ``big``: one 200 MiB layer (goal <= 1.0x skopeo, peak RSS <= 64 MB: blobs stream, never whole in memory);
- ``many``: 50 layers of 4 MiB (goal <= 1.0x skopeo, <= 64 MB: blobs move concurrently, as skopeo's do);
- ``mount``: the same-registry promotion ``staging/big`` -> ``prod/<fresh>`` of one registry, where both tools
  mount the blobs instead of moving them (goal <= 1.5x; start-up is most of it, so two floors are printed:
  ``python3 -c pass`` and ``python3 -c 'import httpx'``).

Every run of a layout -> registry -> layout case gets a fresh registry on a fresh port (started untimed, before
the run): nothing can be skipped as already present, and skopeo's blob-info cache, keyed by registry host:port,
cannot turn its upload into a cross-repository mount. Layers are random bytes gzipped at level 1, so they are
their size on the wire, as real layers are.

Needs Debian's docker-registry, skopeo and GNU time.
Usage: python3 bench/copy_image.py [--rounds N] [--case big|many|mount ...] [--concurrency N]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE.parent))
sys.path.insert(0, str(_HERE))

from harness import Command, Samples, compare, report  # noqa: E402 - after the sys.path set-up above

from tests.support.registry import RegistryProcess  # noqa: E402 - after the sys.path set-up above

MiB = 1024 * 1024
# name: (layers, MiB each)
IMAGES = {"big": (1, 200), "many": (50, 4)}
RSS_GOAL = 64 * 1000 * 1000  # bytes: "peak RSS <= 64 MB"


def write_blob(layout: Path, data: bytes) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def build_layout(layout: Path, layers: int, layer_mib: int) -> None:
    """An OCI layout holding one image tagged ``img`` of ``layers`` gzipped random layers of ``layer_mib``."""
    (layout / "blobs" / "sha256").mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    layer_descs, diff_ids = [], []
    for _ in range(layers):
        raw = os.urandom(layer_mib * MiB)
        diff_ids.append(f"sha256:{hashlib.sha256(raw).hexdigest()}")
        layer = gzip.compress(raw, compresslevel=1, mtime=0)
        layer_descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **write_blob(layout, layer)})
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    config_desc = {"mediaType": "application/vnd.oci.image.config.v1+json", **write_blob(layout, config)}
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": config_desc, "layers": layer_descs}).encode()
    manifest_desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json", **write_blob(layout, manifest),
                     "annotations": {"org.opencontainers.image.ref.name": "img"}}
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [manifest_desc]}))


def ours(*args: str) -> str:
    """A ``supplychain`` command line, as an installed user runs it (bytecode compiled: PYTHONDONTWRITEBYTECODE
    is unset below, and a warm-up round writes the bytecode)."""
    return " ".join([sys.executable, "-m", "supplychain", *map(shell_quote, args)])


def skopeo(*args: str) -> str:
    return " ".join(["skopeo", "copy", "-q", "--src-tls-verify=false", "--dest-tls-verify=false",
                     *map(shell_quote, args)])


def shell_quote(text: str) -> str:
    return shlex.quote(text)


class RoundTrip:
    """One side of a layout -> registry -> layout case: before each run (untimed) a fresh registry on a fresh
    port and no destination layout; ``argv`` (a list the harness reads after ``before``) is rewritten to match."""

    def __init__(self, work: Path, name: str, source: Path, tool: str, concurrency: int | None) -> None:
        self.work, self.name, self.source, self.tool, self.concurrency = work, name, source, tool, concurrency
        self.registry: RegistryProcess | None = None
        self.runs = 0
        self.argv: list[str] = []

    def command(self) -> Command:
        return Command(self.name, self.argv, env=ENV, before=self.before)

    def before(self) -> None:
        self.stop()
        self.runs += 1
        root = self.work / f"registry-{self.name}-{self.runs}"
        self.registry = RegistryProcess(root).start()
        target = self.work / f"out-{self.name}"
        shutil.rmtree(target, ignore_errors=True)
        remote = f"{self.registry.host}/bench/img:1"
        if self.tool == "skopeo":
            script = (f"{skopeo(f'oci:{self.source}:img', f'docker://{remote}')} && "
                      f"{skopeo(f'docker://{remote}', f'oci:{target}:img')}")
        else:
            extra = ("--concurrency", str(self.concurrency)) if self.concurrency is not None else ()
            script = (f"{ours('copy', *extra, f'oci:{self.source}:img', remote)} && "
                      f"{ours('copy', *extra, remote, f'oci:{target}:img')}")
        self.argv[:] = ["sh", "-c", script]

    def stop(self) -> None:
        if self.registry is not None:
            self.registry.stop()
            shutil.rmtree(self.registry.root, ignore_errors=True)
            self.registry = None


# Start-up counts in every figure: run as installed, with bytecode (the first, warm-up round writes it).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def round_trip(work: Path, case: str, rounds: int, concurrency: int | None) -> dict[str, Samples]:
    layers, mib = IMAGES[case]
    source = work / f"src-{case}"
    # Built in a child process, so that this process (and the children it forks) stays small.
    subprocess.run([sys.executable, __file__, "--build", str(source), str(layers), str(mib)], check=True)
    sides = [RoundTrip(work, "skopeo copy", source, "skopeo", None),
             RoundTrip(work, "supplychain copy", source, "supplychain", concurrency)]
    try:
        return compare([side.command() for side in sides], rounds=rounds)
    finally:
        for side in sides:
            side.stop()
        shutil.rmtree(source, ignore_errors=True)


class Promotion:
    """One side of the same-registry case: ``staging/big:1`` -> ``prod/<tool><run>:1``, a fresh repository per
    run, so every blob is mounted (none is already there)."""

    def __init__(self, registry: RegistryProcess, name: str, tool: str) -> None:
        self.registry, self.name, self.tool = registry, name, tool
        self.runs = 0
        self.argv: list[str] = []

    def command(self) -> Command:
        return Command(self.name, self.argv, env=ENV, before=self.before)

    def before(self) -> None:
        self.runs += 1
        source = f"{self.registry.host}/staging/big:1"
        target = f"{self.registry.host}/prod/{self.tool}{self.runs}:1"
        if self.tool == "skopeo":
            self.argv[:] = ["sh", "-c", skopeo(f"docker://{source}", f"docker://{target}")]
        else:
            self.argv[:] = ["sh", "-c", ours("copy", source, target)]


def promotion(work: Path, rounds: int) -> float:
    source = work / "src-mount"
    subprocess.run([sys.executable, __file__, "--build", str(source), "1", "200"], check=True)
    registry = RegistryProcess(work / "registry-mount").start()
    try:
        subprocess.run(["sh", "-c", ours("copy", f"oci:{source}:img", f"{registry.host}/staging/big:1")],
                       check=True, env=ENV)
        results = compare([Promotion(registry, "skopeo copy", "skopeo").command(),
                           Promotion(registry, "supplychain copy", "supplychain").command()], rounds=rounds)
        ratio = report(results, ours="supplychain copy", baseline="skopeo copy", goal="<= 1.5x",
                       title="same-registry promotion staging/big -> prod/... (blob mounts)")
        floors = compare([Command("python3 -c pass", [sys.executable, "-c", "pass"], env=ENV),
                          Command("python3 -c 'import httpx'", [sys.executable, "-c", "import httpx"], env=ENV)],
                         rounds=rounds)
        skopeo_median = results["skopeo copy"].median
        print("  floors: " + ", ".join(f"{s.name} {s.median * 1000:.0f} ms ({s.median / skopeo_median:.2f}x skopeo)"
                                       for s in floors.values()))
        return ratio
    finally:
        registry.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--case", action="append", choices=[*IMAGES, "mount"])
    parser.add_argument("--concurrency", type=int, default=None, help="pass --concurrency N to supplychain copy")
    args = parser.parse_args()
    cases = args.case or [*IMAGES, "mount"]
    work = Path(tempfile.mkdtemp(prefix="bench-copy-"))
    try:
        for case in cases:
            if case == "mount":
                promotion(work, args.rounds)
                continue
            layers, mib = IMAGES[case]
            results = round_trip(work, case, args.rounds, args.concurrency)
            report(results, ours="supplychain copy", baseline="skopeo copy", goal="<= 1.0x",
                   title=f"{case}: {layers} x {mib} MiB layers, layout -> registry -> layout")
            peak = max(results["supplychain copy"].peak_rss)
            if peak:
                verdict = "within" if peak <= RSS_GOAL else "OVER"
                print(f"  peak RSS supplychain copy: {peak / 1e6:.1f} MB ({verdict} the goal <= 64 MB)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--build"]:
        build_layout(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()

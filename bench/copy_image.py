"""``supplychain copy`` of an image with a 200 MB layer, OCI layout -> registry -> OCI layout, against
``skopeo copy`` of the same image in the same run (issue 2: <= 1.2x), with the peak RSS of each process
(issue 2: <= 100 MB: blobs stream, never whole in memory).

Then the same-registry promotion (issue 8.13: <= 1.5x): ``staging/big`` -> ``prod/...`` of one registry, where
both tools mount the blobs instead of moving them through the client.

Needs Debian's docker-registry and skopeo. Usage: python3 bench/copy_image.py [LAYER_MB] [RUNS] [--mount-only]
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.registry import RegistryProcess


def write_blob(layout: Path, data: bytes) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def build_layout(layout: Path, layer_mb: int) -> None:
    (layout / "blobs" / "sha256").mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    # Incompressible content, gzip level 1: the layer is ~layer_mb MB on the wire, as real layers are.
    raw = os.urandom(layer_mb * 1024 * 1024)
    layer = gzip.compress(raw, compresslevel=1, mtime=0)
    layer_desc = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **write_blob(layout, layer)}
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{hashlib.sha256(raw).hexdigest()}"]},
    }).encode()
    config_desc = {"mediaType": "application/vnd.oci.image.config.v1+json", **write_blob(layout, config)}
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_desc, "layers": [layer_desc],
    }).encode()
    manifest_desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json", **write_blob(layout, manifest),
                     "annotations": {"org.opencontainers.image.ref.name": "big"}}
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [manifest_desc]}))


def peak_rss_kb(pid: int) -> int | None:
    """VmHWM: the peak RSS of the process's own address space (ru_maxrss would count the forking parent)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return next((int(line.split()[1]) for line in status if line.startswith("VmHWM:")), None)
    except OSError:
        return None


def run(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall time (s) and peak RSS (MB) of one child process, sampled every 5 ms (VmHWM only grows)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, peak_rss_kb(proc.pid) or 0)
        time.sleep(0.005)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{argv} failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return elapsed, peak / 1024


def start_floor(runs: int, code: str = "import httpx") -> float:
    """Median time of ``python3 -c CODE``: ``pass`` is the bare interpreter (with this machine's site-packages),
    ``import httpx`` what any Python registry client pays before its first request."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return statistics.median(run([sys.executable, "-c", code], env)[0] for _ in range(runs))


def floors(runs: int, skopeo: float) -> str:
    bare, client = start_floor(runs, "pass"), start_floor(runs)
    return (f"floors: python3 -c pass {bare:.2f} s ({bare / skopeo:.2f}x skopeo), "
            f"python3 -c 'import httpx' {client:.2f} s ({client / skopeo:.2f}x skopeo)")


def same_registry(work: Path, runs: int) -> tuple[float, float]:
    """Median times of ``supplychain copy`` and ``skopeo copy`` from one repository of a registry to another.

    With nothing to move, start-up is most of the time, so supplychain runs as installed (pip compiles it to
    bytecode): PYTHONDONTWRITEBYTECODE is unset and a first, untimed run writes the bytecode."""
    sc = [sys.executable, "-m", "supplychain"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    registry = RegistryProcess(work / "registry-mount").start()
    ours: list[float] = []
    theirs: list[float] = []
    try:
        run([*sc, "copy", f"oci:{work}/src:big", f"{registry.host}/staging/big:1"], env)
        run([*sc, "copy", f"{registry.host}/staging/big:1", f"{registry.host}/prod/warm:1"], env)
        for i in range(runs):
            ours.append(run([*sc, "copy", f"{registry.host}/staging/big:1", f"{registry.host}/prod/ours{i}:1"],
                            env)[0])
            theirs.append(run(["skopeo", "copy", "-q", "--src-tls-verify=false", "--dest-tls-verify=false",
                               f"docker://{registry.host}/staging/big:1",
                               f"docker://{registry.host}/prod/skopeo{i}:1"])[0])
    finally:
        registry.stop()
    return statistics.median(ours), statistics.median(theirs)


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--mount-only"]
    mount_only = len(args) != len(sys.argv) - 1
    layer_mb = int(args[0]) if args else 200
    runs = int(args[1]) if len(args) > 1 else 3
    work = Path(tempfile.mkdtemp(prefix="bench-copy-"))
    try:
        # Built in a child process: a forked child's peak RSS starts at its parent's, so this process stays small.
        subprocess.run([sys.executable, __file__, "--build", str(work / "src"), str(layer_mb)], check=True)
        if mount_only:
            a, b = same_registry(work, runs)
            print(f"layer: {layer_mb} MiB, runs: {runs} (registry staging/big -> prod/..., one registry)")
            print(f"skopeo copy: {b:.2f} s, supplychain copy: {a:.2f} s (median); ratio {a / b:.2f}x "
                  "(target <= 1.5x)")
            print(floors(runs, b))
            return
        ours: list[float] = []
        theirs: list[float] = []
        rss: list[float] = []
        skopeo_rss: list[float] = []
        sc = [sys.executable, "-m", "supplychain"]
        for i in range(runs):
            # A fresh registry per tool and run: nothing can be skipped as already present, and skopeo's blob
            # info cache cannot turn its upload into a cross-repository mount.
            mine = RegistryProcess(work / f"registry-ours{i}").start()
            theirs_registry = RegistryProcess(work / f"registry-skopeo{i}").start()
            try:
                t1, r1 = run([*sc, "copy", f"oci:{work}/src:big", f"{mine.host}/bench/big:1"])
                t2, r2 = run([*sc, "copy", f"{mine.host}/bench/big:1", f"oci:{work}/ours{i}:big"])
                s1, q1 = run(["skopeo", "copy", "-q", "--dest-tls-verify=false", f"oci:{work}/src:big",
                              f"docker://{theirs_registry.host}/bench/big:1"])
                s2, q2 = run(["skopeo", "copy", "-q", "--src-tls-verify=false",
                              f"docker://{theirs_registry.host}/bench/big:1", f"oci:{work}/skopeo{i}:big"])
            finally:
                mine.stop()
                theirs_registry.stop()
            ours.append(t1 + t2)
            theirs.append(s1 + s2)
            rss.append(max(r1, r2))
            skopeo_rss.append(max(q1, q2))
            for leftover in (f"ours{i}", f"skopeo{i}", f"registry-ours{i}", f"registry-skopeo{i}"):
                shutil.rmtree(work / leftover)
        a, b = statistics.median(ours), statistics.median(theirs)
        print(f"layer: {layer_mb} MiB, runs: {runs} (layout -> registry -> layout)")
        print(f"skopeo copy:      {b:.2f} s (median), peak RSS {max(skopeo_rss):.0f} MB")
        print(f"supplychain copy: {a:.2f} s (median), peak RSS {max(rss):.0f} MB")
        print(f"ratio: {a / b:.2f}x (target <= 1.2x); peak RSS {max(rss):.0f} MB (target <= 100 MB)")
        m, n = same_registry(work, runs)
        print(f"same registry (staging/big -> prod/...): skopeo {n:.2f} s, supplychain {m:.2f} s (median); "
              f"ratio {m / n:.2f}x (target <= 1.5x)")
        print(floors(runs, n))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--build"]:
        build_layout(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        main()

"""``supplychain tree`` and ``copy`` of an OCI layout image with 250, 1,000 and 2,000 referrers (issue 7.5: they
were quadratic, 48 s for ``tree`` at 1,000). Each time is printed with its ratio to the same command on the same
image with no referrers (the fixed cost, measured in the same run) and its growth against the smallest count:
linear work grows like the count (``growth / count ratio`` near 1), quadratic work like its square.

``copy`` goes layout -> layout (a fresh destination per run); with ``--registry`` also layout -> registry
(Debian's docker-registry), where each referrer's referrers-tag update waits out the concurrent-writer settle
delay, so that case is linear but slow. Usage: python3 bench/layout_referrers.py [COUNT ...] [--runs N] [--registry]
"""

from __future__ import annotations

import hashlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.registry import REGISTRY_BINARY, RegistryProcess

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"


def write_blob(layout: Path, data: bytes) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def build_layout(layout: Path, count: int) -> None:
    """A tagged image and ``count`` artifacts whose subject it is, each an untagged ``index.json`` entry."""
    (layout / "blobs" / "sha256").mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    config = {"mediaType": "application/vnd.oci.image.config.v1+json",
              **write_blob(layout, b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}')}
    layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar", **write_blob(layout, b"layer")}
    image = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST, "config": config, "layers": [layer]}).encode()
    subject = {"mediaType": MANIFEST, **write_blob(layout, image)}
    empty = {"mediaType": EMPTY, **write_blob(layout, b"{}")}
    entries = [{**subject, "annotations": {"org.opencontainers.image.ref.name": "app"}}]
    for i in range(count):
        payload = {"mediaType": "text/plain", **write_blob(layout, f"referrer {i}".encode())}
        doc = {"schemaVersion": 2, "mediaType": MANIFEST, "artifactType": "application/vnd.example.note",
               "config": empty, "layers": [payload], "subject": subject,
               "annotations": {"org.example.n": str(i)}}
        desc = write_blob(layout, json.dumps(doc).encode())
        entries.append({"mediaType": MANIFEST, **desc, "artifactType": "application/vnd.example.note",
                        "annotations": {"org.example.n": str(i)}})
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": entries}))


def run(argv: list[str], timeout: float) -> float | None:
    """Wall time of one command, or ``None`` when it did not finish within ``timeout`` seconds."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None
    if proc.returncode != 0:
        raise SystemExit(f"{argv} failed: {proc.stderr.decode()}")
    return time.perf_counter() - start


def main() -> None:
    args = sys.argv[1:]
    runs = 3
    if "--runs" in args:
        at = args.index("--runs")
        runs = int(args[at + 1])
        del args[at:at + 2]
    with_registry = "--registry" in args
    args = [a for a in args if a != "--registry"]
    counts = [int(a) for a in args] or [250, 1000, 2000]
    timeout = 120.0
    work = Path(tempfile.mkdtemp(prefix="bench-referrers-"))
    sc = [sys.executable, "-m", "supplychain"]
    registry = RegistryProcess(work / "registry").start() if with_registry and Path(REGISTRY_BINARY).exists() else None
    try:
        cases = {
            "tree": lambda src, i: [*sc, "tree", "-o", "json", f"oci:{src}:app"],
            "copy layout->layout": lambda src, i: [*sc, "copy", f"oci:{src}:app", f"oci:{work}/dst-{i}:app"],
        }
        if registry is not None:
            cases["copy layout->registry"] = lambda src, i: [
                *sc, "copy", f"oci:{src}:app", f"{registry.host}/bench/n{src.name}-{i}:app"]
        times: dict[tuple[str, int], float | None] = {}
        for count in [0, *counts]:
            src = work / f"{count}"
            build_layout(src, count)
            for case, argv in cases.items():
                samples = []
                for i in range(runs):
                    elapsed = run(argv(src, i), timeout)
                    shutil.rmtree(work / f"dst-{i}", ignore_errors=True)
                    if elapsed is None:
                        break
                    samples.append(elapsed)
                times[case, count] = statistics.median(samples) if len(samples) == runs else None
            shutil.rmtree(src)
        print(f"runs: {runs} (median); ratio: against the same command with no referrers; growth: time over "
              f"fixed cost against the {counts[0]}-referrer time, divided by the count ratio (1 = linear)")
        for case in cases:
            base = times[case, 0]
            assert base is not None
            print(f"{case}: no referrers {base:.2f} s")
            first = times[case, counts[0]]
            for count in counts:
                t = times[case, count]
                if t is None:
                    print(f"  {count:5d} referrers: did not finish in {timeout:.0f} s")
                    continue
                growth = ""
                if first is not None and first > base and count != counts[0]:
                    scale = ((t - base) / (first - base)) / (count / counts[0])
                    growth = f", growth / count ratio {scale:.2f}"
                print(f"  {count:5d} referrers: {t:.2f} s, ratio {t / base:.1f}x{growth}")
    finally:
        if registry is not None:
            registry.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

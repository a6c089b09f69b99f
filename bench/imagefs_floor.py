"""The layer walk against its floor (issue 12, item 2): an OCI layout with one ~200 MB layer of ~10,000 files (text
of varied compressibility), gzip and zstd, walked by

- ``floor``: decompress and walk every tar header, nothing else (the blob file read in 1 MiB pieces, isal's
  ``IgzipDecompressor`` or zstandard's ``stream_reader``, a header loop that reads the size field and skips);
- ``tarfile``: the standard library's ``tarfile.open(mode="r|gz")`` (``r|*`` for zstd is not supported: gzip only);
- ``ours``: ``imagesource.open_image`` + ``imagefs.scan.scan_image`` of the layout, with a ``wants`` that keeps the
  dpkg status file (as the catalogers will): the blob's and the diff_id's digests, compression checks, the whole
  header walker with checksums, whiteouts and the index of every path.

Whole processes, interleaved, alternating order (``harness``); MB/s are uncompressed bytes over the median wall time
(start-up included, the same for all). Goal: ours <= 1.5x the floor (issue 12 sets it for the whole scan).

Usage: python3 bench/imagefs_floor.py [--rounds N] [--size-mb N]
       python3 bench/imagefs_floor.py --floor BLOB gzip|zstd     (the baseline, run by the bench itself)
       python3 bench/imagefs_floor.py --tarfile BLOB
       python3 bench/imagefs_floor.py --ours oci:DIR:TAG
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import random
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CACHE = Path("/tmp/supplychain-bench-imagefs")


def floor(blob: Path, compression: str) -> None:
    """Decompress and walk the headers: the least any walker must do."""
    with blob.open("rb") as handle:
        if compression == "gzip":
            from isal import igzip_lib

            def chunks():  # type: ignore[no-untyped-def]
                decompressor = igzip_lib.IgzipDecompressor(flag=igzip_lib.DECOMP_GZIP)
                while piece := handle.read(128 * 1024):
                    yield decompressor.decompress(piece, 256 * 1024)
                    while not decompressor.needs_input and not decompressor.eof:
                        yield decompressor.decompress(b"", 256 * 1024)
        else:
            import zstandard

            def chunks():  # type: ignore[no-untyped-def]
                reader = zstandard.ZstdDecompressor().stream_reader(handle, read_size=128 * 1024)
                while out := reader.read(256 * 1024):
                    yield out
        buffer, position, entries = b"", 0, 0
        stream = chunks()
        while True:
            while len(buffer) - position < 512:
                more = next(stream, None)
                if more is None:
                    print(entries)
                    return
                buffer = buffer[position:] + more
                position = 0
            header = buffer[position:position + 512]
            if header == bytes(512):
                print(entries)
                return
            size = int(header[124:136].split(b"\0", 1)[0].strip() or b"0", 8)
            entries += 1
            position += 512 + size + (-size % 512)
            while position > len(buffer):
                position -= len(buffer)
                buffer = next(stream, b"")


def with_tarfile(blob: Path) -> None:
    with tarfile.open(blob, mode="r|gz") as tar:
        print(sum(1 for _ in tar))


def ours(source: str) -> None:
    from supplychain.config import Settings
    from supplychain.imagefs.scan import scan_image
    from supplychain.imagesource import open_image

    with open_image(source, Settings()) as image:
        files = scan_image(image, lambda path, size, mode: path == "var/lib/dpkg/status")
    print(len(files.squashed.entries))


def build(size_mb: int) -> dict[str, tuple[str, Path, int]]:
    """The layouts (cached between runs): {compression: (source, blob path, uncompressed bytes)}."""
    import zstandard

    from supplychain.digest import Digest
    from supplychain.layout import OciLayout
    from supplychain.oci.mediatype import MediaType
    from supplychain.oci.model import Descriptor, build_manifest, encode_json

    marker = CACHE / f"built-{size_mb}.json"
    if marker.exists():
        return {k: (v[0], Path(v[1]), v[2]) for k, v in json.loads(marker.read_text()).items()}
    CACHE.mkdir(parents=True, exist_ok=True)
    rng = random.Random(12)
    words = [rng.randbytes(rng.randint(2, 9)).hex() for _ in range(5000)]
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        total, index = 0, 0
        while total < size_mb * 1024 * 1024:
            size = int(rng.lognormvariate(9.3, 1.2)) + 1  # median ~11 KB, a long tail, like /usr
            if index % 5 == 0:
                data = rng.randbytes(size)  # binaries compress badly
            else:
                data = " ".join(rng.choices(words, k=size // 6 + 1)).encode()[:size]
            info = tarfile.TarInfo(f"usr/share/pkg{index % 400}/dir{index % 7}/file{index}.txt")
            info.size, info.mtime = len(data), 0
            tar.addfile(info, io.BytesIO(data))
            total, index = total + size, index + 1
        status = b"Package: base-files\nStatus: install ok installed\nVersion: 12.4\n\n"
        info = tarfile.TarInfo("var/lib/dpkg/status")
        info.size = len(status)
        tar.addfile(info, io.BytesIO(status))
    tar_bytes = raw.getvalue()
    diff_id = "sha256:" + hashlib.sha256(tar_bytes).hexdigest()
    out: dict[str, tuple[str, Path, int]] = {}
    for compression, media_type, blob in (
            ("gzip", MediaType.OCI_LAYER_GZIP, gzip.compress(tar_bytes, 6, mtime=0)),
            ("zstd", MediaType.OCI_LAYER_ZSTD, zstandard.ZstdCompressor(level=3).compress(tar_bytes))):
        config = encode_json({"architecture": "amd64", "os": "linux",
                              "rootfs": {"type": "layers", "diff_ids": [diff_id]}})
        layout = OciLayout(CACHE / f"layout-{compression}", create=True)
        config_desc = Descriptor.for_bytes(MediaType.OCI_CONFIG, config)
        layer_desc = Descriptor.for_bytes(media_type, blob)
        layout.put_blob(config_desc, [config])
        layout.put_blob(layer_desc, [blob])
        layout.put_manifest(build_manifest(config_desc, [layer_desc]), tag="big")
        layout.close()
        blob_path = CACHE / f"layout-{compression}" / "blobs" / "sha256" / Digest.of(blob).hex
        out[compression] = (f"oci:{CACHE / f'layout-{compression}'}:big", blob_path, len(tar_bytes))
        print(f"built {compression}: {len(tar_bytes) / 1e6:.0f} MB tar, {len(blob) / 1e6:.0f} MB blob, "
              f"{index + 1} files", flush=True)
    marker.write_text(json.dumps({k: [v[0], str(v[1]), v[2]] for k, v in out.items()}))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--floor", nargs=2)
    parser.add_argument("--tarfile")
    parser.add_argument("--ours")
    args = parser.parse_args()
    if args.floor:
        floor(Path(args.floor[0]), args.floor[1])
        return
    if args.tarfile:
        with_tarfile(Path(args.tarfile))
        return
    if args.ours:
        ours(args.ours)
        return

    from harness import Command, compare, report

    me = [sys.executable, str(Path(__file__).resolve())]
    env = {"PYTHONPATH": str(ROOT)}
    for compression, (source, blob, unpacked) in build(args.size_mb).items():
        commands = [Command("floor", [*me, "--floor", str(blob), compression], env=env),
                    Command("ours", [*me, "--ours", source], env=env)]
        if compression == "gzip":
            commands.append(Command("tarfile", [*me, "--tarfile", str(blob)], env=env))
        results = compare(commands, rounds=args.rounds)
        report(results, ours="ours", baseline="floor", goal="<= 1.5x",
               title=f"{compression}: one {unpacked / 1e6:.0f} MB layer")
        for name, samples in results.items():
            print(f"  {name}: {unpacked / samples.median / 1e6:.0f} MB/s")


if __name__ == "__main__":
    main()

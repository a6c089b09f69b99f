"""Hand-built layers for the walker's tests: tar entries written by ``tarfile`` (a third-party writer of the format
for our reader), compressed as a registry would serve them, with the digests a manifest and config would carry."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import tarfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import zstandard

from supplychain.digest import Digest
from supplychain.imagefs.walk import LayerSource
from supplychain.oci.mediatype import MediaType


@dataclass(frozen=True)
class Item:
    """One tar entry: ``kind`` is file, dir, symlink, hardlink, fifo."""

    name: str
    data: bytes = b""
    kind: str = "file"
    link: str = ""
    mode: int = 0o644


def file(name: str, data: bytes = b"x", mode: int = 0o644) -> Item:
    return Item(name, data, mode=mode)


def directory(name: str) -> Item:
    return Item(name, kind="dir", mode=0o755)


def symlink(name: str, target: str) -> Item:
    return Item(name, kind="symlink", link=target)


def hardlink(name: str, target: str) -> Item:
    return Item(name, kind="hardlink", link=target)


_TYPES = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
          "fifo": tarfile.FIFOTYPE}


def tar_bytes(items: Sequence[Item], *, fmt: int = tarfile.PAX_FORMAT) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for item in items:
            info = tarfile.TarInfo(item.name)
            info.type = _TYPES[item.kind]
            info.mode = item.mode
            info.linkname = item.link
            info.mtime = 0
            if item.kind == "file":
                info.size = len(item.data)
                tar.addfile(info, io.BytesIO(item.data))
            else:
                tar.addfile(info)
    return out.getvalue()


def compress(tar: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.compress(tar, mtime=0)
    if compression == "zstd":
        return zstandard.ZstdCompressor().compress(tar)
    return tar


MEDIA = {"gzip": MediaType.OCI_LAYER_GZIP, "zstd": MediaType.OCI_LAYER_ZSTD, "tar": MediaType.OCI_LAYER}


def source(blob: bytes, *, tar: bytes | None = None, media_type: str | None = MediaType.OCI_LAYER_GZIP,
           diff_id: Digest | None = None, chunk: int = 4096) -> LayerSource:
    """A layer whose blob is ``blob`` (served in ``chunk``-byte pieces) and whose diff_id is that of ``tar``."""
    if diff_id is None:
        diff_id = Digest("sha256", hashlib.sha256(tar if tar is not None else blob).hexdigest())

    @contextlib.contextmanager
    def opener() -> Iterator[Iterator[bytes]]:
        yield iter([blob[i:i + chunk] for i in range(0, len(blob), chunk)])

    return LayerSource(media_type, Digest.of(blob), len(blob), diff_id, opener)


def layer(items: Sequence[Item], compression: str = "gzip", **kwargs: object) -> LayerSource:
    tar = tar_bytes(items)
    return source(compress(tar, compression), tar=tar, media_type=MEDIA[compression], **kwargs)  # type: ignore[arg-type]


def raw_layer(tar: bytes, compression: str = "gzip") -> LayerSource:
    """A layer of hand-made tar bytes."""
    return source(compress(tar, compression), tar=tar, media_type=MEDIA[compression])

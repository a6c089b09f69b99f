"""The layer walker: formats, the OCI changeset rules, attribution, and every hostile tar of issue 12 item 2."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile

import pytest
import zstandard

from supplychain.digest import Digest
from supplychain.errors import DigestMismatchError, ExitCode, SizeLimitError
from supplychain.imagefs.compression import LayerFormatError
from supplychain.imagefs.view import EntryKind, FileView
from supplychain.imagefs.walk import LayerSource, Scope, WalkLimits, walk_layers
from supplychain.oci.mediatype import MediaType
from tests.unit.imagefs.layers import (
    Item,
    compress,
    directory,
    file,
    hardlink,
    layer,
    raw_layer,
    source,
    symlink,
    tar_bytes,
)


def everything(path: str, size: int, mode: int) -> bool:
    return True


def nothing(path: str, size: int, mode: int) -> bool:
    return False


def view_of(*layers: LayerSource, wants=everything, **options) -> FileView:
    return walk_layers(layers, wants, **options).squashed


# -- formats ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("compression", ["gzip", "zstd", "tar"])
def test_each_compression_gives_the_same_view(compression):
    items = [directory("etc"), file("etc/os-release", b"ID=debian\n"), symlink("etc/alias", "os-release")]
    view = view_of(layer(items, compression))
    assert sorted(view.entries) == ["etc", "etc/alias", "etc/os-release"]
    assert view.get("etc/os-release").data == b"ID=debian\n"
    assert view.get("etc/alias").link == "os-release"
    assert view.problems == ()


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
def test_long_names_and_links_in_pax_and_gnu_tars(fmt):
    long_dir = "usr/" + "d" * 120
    long_target = "/opt/" + "t" * 150
    tar = tar_bytes([file(f"{long_dir}/METADATA", b"Name: x\n"), symlink("usr/link", long_target),
                     file("usr/caf\u00e9", b"utf-8 name")], fmt=fmt)
    view = view_of(raw_layer(tar))
    assert view.get(f"{long_dir}/METADATA").data == b"Name: x\n"
    assert view.get("usr/link").link == long_target
    assert view.get("usr/caf\u00e9").data == b"utf-8 name"


def test_ustar_prefix_field_is_joined_to_the_name():
    name = "a" * 90 + "/" + "b" * 90  # over 100 bytes: ustar splits it into prefix and name
    view = view_of(raw_layer(tar_bytes([file(name, b"ok")], fmt=tarfile.USTAR_FORMAT)))
    assert view.get(name).data == b"ok"


def test_pax_size_overrides_the_header_size():
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("big")
        info.size = 3
        info.pax_headers = {"comment": "x"}
        tar.addfile(info, io.BytesIO(b"abc"))
    view = view_of(raw_layer(out.getvalue()))
    assert view.get("big").size == 3 and view.get("big").data == b"abc"


def test_multi_member_gzip_is_read_whole():
    tar = tar_bytes([file("a", b"1" * 5000), file("b", b"2")])
    blob = gzip.compress(tar[:3000], mtime=0) + gzip.compress(tar[3000:], mtime=0)
    view = view_of(source(blob, tar=tar))
    assert view.get("b").data == b"2"


def test_zstd_of_several_frames_is_read_whole():
    tar = tar_bytes([file("a", b"1" * 5000), file("b", b"2")])
    compressor = zstandard.ZstdCompressor()
    blob = compressor.compress(tar[:3000]) + compressor.compress(tar[3000:])
    view = view_of(source(blob, tar=tar, media_type=MediaType.OCI_LAYER_ZSTD))
    assert view.get("b").data == b"2"


def test_a_tar_without_end_of_archive_blocks_is_accepted():
    tar = tar_bytes([file("a", b"1")])
    assert view_of(raw_layer(tar[:1024])).get("a").data == b"1"  # header + one content block, no zero blocks


# -- the changeset rules (image-spec layer.md) -----------------------------------------------------------------------


def test_a_later_layer_replaces_a_path_and_history_records_every_writer():
    view = view_of(layer([file("etc/passwd", b"v0")]), layer([file("other")]), layer([file("etc/passwd", b"v2")]))
    entry = view.get("etc/passwd")
    assert entry.data == b"v2"
    assert entry.layer.index == 2
    assert [ref.index for ref in entry.history] == [0, 2]
    assert view.get("other").layer.index == 1


def test_whiteout_deletes_a_file_and_a_directory_with_its_children():
    base = layer([directory("usr"), file("usr/a"), directory("usr/lib"), file("usr/lib/x"), file("usr/lib2")])
    top = layer([file("usr/.wh.a", b""), file("usr/.wh.lib", b"")])
    view = view_of(base, top)
    assert sorted(view.entries) == ["usr", "usr/lib2"]


def test_opaque_directory_hides_lower_children_but_keeps_its_own_layer_entries():
    base = layer([directory("etc"), file("etc/old"), directory("etc/sub"), file("etc/sub/deep"), file("keep")])
    top = layer([directory("etc"), file("etc/new", b"n"), file("etc/.wh..wh..opq", b"")])  # marker after the entry
    view = view_of(base, top)
    assert sorted(view.entries) == ["etc", "etc/new", "keep"]
    assert view.get("etc").layer.index == 1


def test_a_whiteout_never_hides_its_own_layer():
    view = view_of(layer([file("a", b"0")]), layer([file("a", b"1"), file(".wh.a", b"")]))
    assert view.get("a").data == b"1"
    assert view.get(".wh.a") is None


def test_a_path_deleted_and_written_again_starts_a_new_history():
    view = view_of(layer([file("a", b"0")]), layer([file(".wh.a", b"")]), layer([file("a", b"2")]))
    assert [ref.index for ref in view.get("a").history] == [2]


def test_a_file_over_a_directory_removes_what_was_below_it():
    view = view_of(layer([directory("d"), file("d/x")]), layer([file("d", b"now a file")]))
    assert sorted(view.entries) == ["d"] and view.get("d").kind is EntryKind.FILE


def test_missing_parent_directories_are_made_in_the_writing_layer():
    view = view_of(layer([file("a/b/c", b"1")]))
    assert view.get("a").kind is EntryKind.DIRECTORY and view.get("a/b").layer.index == 0


def test_all_layers_scope_gives_each_layers_own_view():
    files = walk_layers([layer([file("var/lib/dpkg/status", b"one")]), layer([file(".wh.var", b"")])], everything,
                        scope=Scope.ALL_LAYERS)
    assert files.squashed.entries == {}
    first, second = files.layers
    assert first.get("var/lib/dpkg/status").data == b"one"
    assert second.entries == {}
    assert [ref.index for ref in first.layers] == [0]


def test_wants_decides_from_the_normalised_header_alone():
    asked = []

    def wants(path: str, size: int, mode: int) -> bool:
        asked.append((path, size, mode))
        return path.endswith("status")

    view = view_of(layer([file("./var/lib/dpkg/status", b"s", 0o600), file("bin/sh", b"ELF", 0o755)]),
                   wants=wants)
    assert ("var/lib/dpkg/status", 1, 0o600) in asked and ("bin/sh", 3, 0o755) in asked
    assert view.get("var/lib/dpkg/status").data == b"s"
    assert view.get("bin/sh").data is None and view.get("bin/sh").size == 3


def test_layer_refs_carry_the_blob_digest_and_the_diff_id():
    only = layer([file("a")])
    ref = view_of(only).get("a").layer
    assert ref.digest == str(only.digest) and ref.diff_id == str(only.diff_id)


# -- hostile tars ----------------------------------------------------------------------------------------------------


def test_paths_that_leave_the_root_are_skipped_with_a_problem_and_absolute_ones_are_rooted():
    view = view_of(layer([file("../../etc/passwd", b"evil"), file("a/../../b", b"evil"), file("/etc/abs", b"ok")]))
    assert sorted(view.entries) == ["etc", "etc/abs"]
    assert sum("leaves the image root" in p for p in view.problems) == 2


def test_a_whiteout_of_dot_dot_is_ignored():
    view = view_of(layer([directory("a"), file("a/x")]), layer([file("a/.wh..", b"")]))
    assert "a/x" in view.entries
    assert any("names no file" in p for p in view.problems)


def test_duplicate_entries_in_a_layer_keep_the_later_one_with_a_problem():
    view = view_of(layer([file("a", b"first"), file("a", b"second")]))
    assert view.get("a").data == b"second"
    assert any("written twice" in p for p in view.problems)


def test_hard_links_to_missing_or_escaping_targets_are_skipped_with_a_problem():
    view = view_of(layer([hardlink("x", "nowhere"), hardlink("y", "../../etc/shadow"), directory("d"),
                          hardlink("z", "d")]))
    assert view.get("x") is None and view.get("y") is None and view.get("z") is None
    assert any("does not exist" in p for p in view.problems)
    assert any("leaves the image root" in p for p in view.problems)
    assert any("not a regular file" in p for p in view.problems)


def test_a_hard_link_shares_its_targets_bytes_across_layers():
    view = view_of(layer([file("usr/bin/python3.11", b"ELF")]),
                   layer([hardlink("usr/bin/python3", "usr/bin/python3.11")]))
    entry = view.get("usr/bin/python3")
    assert entry.kind is EntryKind.HARDLINK and entry.link == "usr/bin/python3.11"
    assert entry.size == 3 and entry.data == b"ELF"


def test_a_wanted_hard_link_to_a_target_that_was_not_kept_is_a_problem():
    """A tar holds the bytes at the target, which streamed past unread (``opt/status-copy`` was not wanted): the
    wanted link is listed with a problem that says why it has no bytes, never silently empty."""
    wanted = {"var/lib/dpkg/status"}
    items = [file("opt/status-copy", b"Package: x\n"), hardlink("var/lib/dpkg/status", "opt/status-copy")]
    view = view_of(layer(items), wants=lambda path, size, mode: path in wanted)
    entry = view.get("var/lib/dpkg/status")
    assert entry.kind is EntryKind.HARDLINK and entry.size == 11 and entry.data is None
    (problem,) = view.problems
    assert problem.startswith("layer 0 (sha256:") and problem.endswith(
        ": 'var/lib/dpkg/status' is a hard link to 'opt/status-copy', whose contents were not kept when it was "
        "walked: listed, not read")
    kept = view_of(layer(items))
    assert kept.get("var/lib/dpkg/status").data == b"Package: x\n" and not kept.problems
    # A target that was wanted was read; its bytes dropped by keeps (not a Go binary, say) are no problem of the link
    dropped = walk_layers([layer(items)], everything, keeps=lambda path, mode, data: None).squashed
    assert dropped.get("var/lib/dpkg/status").data is None and not dropped.problems


def test_resolve_follows_symlink_chains_inside_the_root_and_refuses_escapes_and_loops():
    view = view_of(layer([
        directory("usr"), directory("usr/lib"), file("usr/lib/os-release", b"ID=x"),
        symlink("etc/os-release", "../usr/lib/os-release"), symlink("lib", "usr/lib"), symlink("abs", "/lib"),
        symlink("chain1", "chain2"), symlink("chain2", "abs"),
        symlink("escape", "../../../etc/passwd"), symlink("loop1", "loop2"), symlink("loop2", "loop1"),
        symlink("self", "self"), symlink("dangling", "nope"), symlink("through-file", "usr/lib/os-release/x"),
    ]))
    target = view.get("usr/lib/os-release")
    assert view.resolve("etc/os-release") == target
    assert view.resolve("lib/os-release") == target
    assert view.resolve("/chain1/os-release") == target
    assert view.resolve("usr/lib") == view.get("usr/lib")
    for bad in ("escape", "loop1", "self", "dangling", "through-file", "../etc", "missing/x"):
        assert view.resolve(bad) is None, bad


def test_resolve_gives_up_after_the_hop_cap():
    chain = [symlink(f"l{i}", f"l{i + 1}") for i in range(45)] + [file("l45", b"end")]
    view = view_of(layer(chain))
    assert view.resolve("l10") == view.get("l45")  # 35 hops
    assert view.resolve("l0") is None  # 45 hops: more than Linux's 40
    assert view.resolve("l0", max_hops=50) == view.get("l45")


def test_a_ratio_bomb_is_refused():
    bomb = layer([file("zeros", bytes(4 * 1024 * 1024))])
    caps = WalkLimits(max_compression_ratio=100, compression_ratio_floor=1024 * 1024)
    with pytest.raises(SizeLimitError, match="decompression bomb") as caught:
        walk_layers([bomb], nothing, caps=caps)
    assert caught.value.exit_code is ExitCode.INTEGRITY and caught.value.hint


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_the_default_ratio_cap_refuses_a_zero_bomb(compression):
    zeros = bytes(80 * 1024 * 1024)  # 80 MiB of zeros: ~1000x in gzip, far more in zstd
    tar = tar_bytes([file("zeros", zeros)])
    with pytest.raises(SizeLimitError, match="MAX_COMPRESSION_RATIO"):
        walk_layers([source(compress(tar, compression), tar=tar, media_type={"gzip": MediaType.OCI_LAYER_GZIP,
                     "zstd": MediaType.OCI_LAYER_ZSTD}[compression])], nothing)


def test_the_total_uncompressed_cap_spans_layers():
    layers = [layer([file(f"f{i}", bytes(range(256)) * 40)]) for i in range(3)]
    caps = WalkLimits(max_uncompressed_bytes=25_000)
    with pytest.raises(SizeLimitError, match="MAX_UNCOMPRESSED_BYTES"):
        walk_layers(layers, nothing, caps=caps)


def test_too_many_entries_is_refused():
    with pytest.raises(SizeLimitError, match="MAX_TAR_ENTRIES"):
        walk_layers([layer([file(f"f{i}") for i in range(20)])], nothing, caps=WalkLimits(max_entries=10))


def test_a_wanted_file_over_the_per_file_cap_is_listed_not_read():
    view = view_of(layer([file("big", b"x" * 5000), file("small", b"y")]),
                   caps=WalkLimits(max_wanted_file_bytes=1000))
    assert view.get("big").data is None and view.get("big").size == 5000
    assert view.get("small").data == b"y"
    assert any("MAX_WANTED_FILE_BYTES" in p for p in view.problems)


def test_kept_bytes_are_capped_in_total():
    view = view_of(layer([file(f"f{i}", b"z" * 400) for i in range(5)]), caps=WalkLimits(max_wanted_bytes=1000))
    assert sum(1 for e in view.wanted()) == 2
    assert sum("MAX_WANTED_BYTES" in p for p in view.problems) == 3


def test_bytes_a_later_layer_replaces_are_given_back_to_the_budget():
    """At most two copies are held at once (the lower one until the upper layer's walk ends), never all four."""
    caps = WalkLimits(max_wanted_bytes=1700)
    view = view_of(*[layer([file("status", b"s" * 800)]) for _ in range(4)], caps=caps)
    assert view.get("status").data == b"s" * 800 and view.problems == ()


def test_keeps_drops_bytes_read_for_wants_and_gives_them_back_to_the_budget():
    """A binary cataloger wants every executable and keeps only a part of some: the others cost the walk one file
    at a time, never the total budget, and what is kept counts only the part."""
    layers = layer([file("bin/a", b"a" * 600, mode=0o755), file("bin/go", b"GO" * 50, mode=0o755),
                    file("bin/c", b"c" * 600, mode=0o755)])
    seen: list[tuple[str, int]] = []

    def keeps(path: str, mode: int, data: bytes) -> bytes | None:
        seen.append((path, mode))
        return data[:10] if data.startswith(b"GO") else None

    view = walk_layers([layers], everything, keeps=keeps, caps=WalkLimits(max_wanted_bytes=700)).squashed
    assert seen == [("bin/a", 0o755), ("bin/go", 0o755), ("bin/c", 0o755)]
    assert [(entry.path, entry.data) for entry in view.wanted()] == [("bin/go", b"GO" * 5)]
    assert view.get("bin/a").size == 600 and view.get("bin/go").size == 100 and view.problems == ()


def test_a_changed_blob_that_no_longer_inflates_is_a_digest_mismatch():
    """The last byte of a gzip blob flipped (its CRC): the inflater fails before the stream ends, but what is wrong
    is that the bytes are not the blob the manifest names (exit 7), not that some tool wrote bad gzip."""
    tar = tar_bytes([file("a", bytes(range(256)) * 100)])
    blob = gzip.compress(tar, mtime=0)
    good = source(blob, tar=tar)
    changed = source(blob[:-1] + bytes([blob[-1] ^ 0xFF]), tar=tar, diff_id=good.diff_id)
    changed = LayerSource(changed.media_type, good.digest, changed.size, good.diff_id, changed.open)
    with pytest.raises(DigestMismatchError) as caught:
        walk_layers([changed], nothing)
    assert caught.value.exit_code is ExitCode.INTEGRITY


def test_problems_are_capped_with_a_count_of_the_rest():
    view = view_of(layer([file(f"../x{i}") for i in range(10)]), caps=WalkLimits(max_problems=3))
    assert len(view.problems) == 4 and view.problems[-1] == "... and 7 more problems (limits.MAX_PROBLEMS)"


def test_a_truncated_tar_is_refused():
    tar = tar_bytes([file("a", b"1" * 3000)])
    with pytest.raises(LayerFormatError, match="truncated tar") as caught:
        walk_layers([raw_layer(tar[:2000])], nothing)
    assert caught.value.exit_code is ExitCode.INVALID_INPUT and caught.value.hint


def test_a_truncated_gzip_stream_is_refused():
    tar = tar_bytes([file("a", bytes(range(256)) * 100)])
    blob = gzip.compress(tar, mtime=0)
    with pytest.raises(LayerFormatError, match="truncated gzip"):
        walk_layers([source(blob[: len(blob) // 2], tar=tar)], nothing)


@pytest.mark.parametrize("media_type", [MediaType.OCI_LAYER_GZIP, MediaType.OCI_LAYER_ZSTD])
def test_garbage_after_the_magic_bytes_is_refused(media_type):
    magic = b"\x1f\x8b\x08\x00" if media_type == MediaType.OCI_LAYER_GZIP else b"\x28\xb5\x2f\xfd"
    blob = magic + bytes(range(256)) * 8
    with pytest.raises(LayerFormatError, match="not a valid"):
        walk_layers([source(blob, media_type=media_type)], nothing)


def test_a_header_with_a_wrong_checksum_is_refused():
    tar = bytearray(tar_bytes([file("a", b"1")]))
    tar[0:1] = b"b"  # the name changes, the checksum does not
    with pytest.raises(LayerFormatError, match="wrong checksum"):
        walk_layers([raw_layer(bytes(tar))], nothing)


def test_bytes_that_are_no_tar_at_all_are_refused():
    with pytest.raises(LayerFormatError):
        walk_layers([raw_layer(b"this is not a tar archive" * 40, "tar")], nothing)


@pytest.mark.parametrize(("declared", "actual"), [
    (MediaType.OCI_LAYER_GZIP, "zstd"), (MediaType.OCI_LAYER_ZSTD, "gzip"), (MediaType.OCI_LAYER, "gzip"),
    (MediaType.OCI_LAYER_GZIP, "tar")])
def test_a_media_type_that_contradicts_the_magic_bytes_is_refused(declared, actual):
    tar = tar_bytes([file("a")])
    with pytest.raises(LayerFormatError, match=r"is declared .* but its bytes are"):
        walk_layers([source(compress(tar, actual), tar=tar, media_type=declared)], nothing)


def test_a_descriptor_that_is_no_layer_is_refused():
    tar = tar_bytes([file("a")])
    with pytest.raises(LayerFormatError, match="not an image layer"):
        walk_layers([source(tar, media_type="application/vnd.cncf.helm.chart.content.v1.tar+gzip")], nothing)


def test_a_wrong_diff_id_is_refused_before_a_view_is_returned():
    only = layer([file("a")])
    wrong = LayerSource(only.media_type, only.digest, only.size, Digest.of(b"other"), only.open)
    with pytest.raises(DigestMismatchError, match=r"rootfs.diff_ids\[0\]"):
        walk_layers([wrong], everything)


def test_a_wrong_blob_digest_is_refused():
    only = layer([file("a")])
    wrong = LayerSource(only.media_type, Digest.of(b"other"), only.size, only.diff_id, only.open)
    with pytest.raises(DigestMismatchError):
        walk_layers([wrong], everything)


def test_oversized_pax_records_are_refused():
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("a")
        info.pax_headers = {"comment": "c" * 5000}
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(LayerFormatError, match="MAX_TAR_HEADER_BYTES"):
        walk_layers([raw_layer(out.getvalue())], nothing, caps=WalkLimits(max_tar_header_bytes=4096))


def test_devices_and_fifos_are_listed_without_content():
    view = view_of(layer([Item("run/fifo", kind="fifo")]))
    assert view.get("run/fifo").kind is EntryKind.OTHER and view.get("run/fifo").data is None


def test_unwanted_content_is_skipped_without_being_joined():
    """A 3 MiB file nobody wants, served in 4 KiB chunks: the walker never builds a bytes object of it."""
    tar = tar_bytes([file("big", bytes(range(256)) * 12288), file("after", b"ok")])
    layer_source = source(tar, tar=tar, media_type=MediaType.OCI_LAYER)
    view = view_of(layer_source, wants=lambda path, size, mode: path == "after")
    assert view.get("after").data == b"ok" and view.get("big").data is None
    assert hashlib.sha256(tar).hexdigest() == layer_source.diff_id.hex


# -- the walk's fast paths give the answers of the general ones -------------------------------------------------------


@pytest.mark.parametrize(("name", "key"), [
    ("usr/bin/sh", "usr/bin/sh"), ("./usr/bin/sh", "usr/bin/sh"), ("usr/lib/", "usr/lib"), ("./", ""), (".", ""),
    ("", ""), ("/etc/passwd", "etc/passwd"), ("usr//lib", "usr/lib"), ("usr/./lib", "usr/lib"),
    ("usr/lib/../bin", "usr/bin"), (".bashrc", ".bashrc"), ("./.bashrc", ".bashrc"), ("home/.profile", "home/.profile"),
    ("a/b..c", "a/b..c"), ("a/..b", "a/..b"), ("usr/lib//", "usr/lib"), ("../x", None), ("a/../../x", None),
    ("././a", "a"), ("lib.so.6", "lib.so.6"),
])
def test_normalise_fast_and_general_paths_agree(name, key):
    from supplychain.imagefs.view import normalise

    assert normalise(name) == key


def _with_field(tar: bytes, start: int, value: bytes) -> bytes:
    """The first header of ``tar`` with bytes ``start..`` replaced and its checksum made right again."""
    block = bytearray(tar[:512])
    block[start:start + len(value)] = value
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block) + tar[512:]


@pytest.mark.parametrize("mode", [b"0000644\0", b" 000644 ", b"644\0\0\0\0\0", b"0000644 "])
def test_octal_fields_padded_with_nuls_or_spaces_are_read(mode):
    tar = _with_field(tar_bytes([file("a", b"1", 0o600)], fmt=tarfile.USTAR_FORMAT), 100, mode)
    assert view_of(raw_layer(tar)).get("a").mode == 0o644


@pytest.mark.parametrize("size", [b"0000000009\0", b"00000008000\0", b"12x\0"])
def test_a_size_that_is_not_octal_is_refused(size):
    tar = _with_field(tar_bytes([file("a", b"1")], fmt=tarfile.USTAR_FORMAT), 124, size.ljust(12, b"\0"))
    with pytest.raises(LayerFormatError, match="not an octal number"):
        walk_layers([raw_layer(tar)], nothing)


def test_a_base256_size_is_read():
    data = b"x" * 700
    tar = _with_field(tar_bytes([file("a", data)], fmt=tarfile.USTAR_FORMAT), 124,
                      bytes([0x80]) + len(data).to_bytes(11, "big"))
    assert view_of(raw_layer(tar)).get("a").data == data


def test_only_links_carry_a_link_target():
    from supplychain.imagefs.tar import TarWalker

    tar = _with_field(tar_bytes([file("a", b"1"), symlink("l", "a")], fmt=tarfile.USTAR_FORMAT), 157,
                      b"stale-linkname\0")
    headers = {header.name: header.link for header in TarWalker([tar], what="test")}
    assert headers == {"a": "", "l": "a"}  # ustar's linkname means nothing on a regular file
    assert view_of(raw_layer(tar)).get("a").link is None


@pytest.mark.parametrize("count", [3, 200])  # below and above walk._FEW_MARKERS: two ways to find what is hidden
def test_many_and_few_whiteouts_hide_the_same_paths(count):
    base = [directory("d")] + [file(f"d/f{i}") for i in range(count)] + [directory("d/f0x"), file("d/f0x/y"),
                                                                        directory("o"), file("o/z"), file("o2")]
    top = [file(f"d/.wh.f{i}", b"") for i in range(1, count)] + [file("o/.wh..wh..opq", b""), file("o/new")]
    view = view_of(layer(base), layer(top))
    assert sorted(view.entries) == ["d", "d/f0", "d/f0x", "d/f0x/y", "o", "o/new", "o2"]


@pytest.mark.parametrize("count", [1, 100])
def test_an_opaque_root_hides_every_lower_path(count):
    top = [file(f".wh.gone{i}", b"") for i in range(count)] + [file(".wh..wh..opq", b""), file("new")]
    view = view_of(layer([directory("etc"), file("etc/passwd"), file("top")]), layer(top))
    assert sorted(view.entries) == ["new"]

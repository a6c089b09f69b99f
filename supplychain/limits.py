"""Caps on everything a registry or layout controls (STYLE.md section 4: "cap every size the server controls").

Defaults are conservative and overridable through ``supplychain.config.Settings``; these are the constants
both the registry client and the layout store fall back to.
"""

from __future__ import annotations

# Distribution spec, "Pushing manifests": registries SHOULD accept manifests of at least 4 MiB; we never read more.
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
# An index may list at most this many manifests; a manifest at most this many layers.
MAX_INDEX_ENTRIES = 10_000
MAX_LAYERS = 1_000
# Small JSON blobs we read whole (configs, attestations, SBOMs).
MAX_ATTACHMENT_BYTES = 128 * 1024 * 1024
# A signature read whole: a .sig layer's simple-signing payload or a signature bundle (issue 7.4). cosign's
# payloads are a few hundred bytes, and a Sigstore bundle with a certificate chain, a Rekor entry, an inclusion
# proof and a checkpoint 5-20 KB; 1 MiB leaves fifty times that, and with at most --max-signatures (100)
# signatures read one at a time, verify never holds more than one of them.
MAX_SIGNATURE_BYTES = 1024 * 1024
# Any layer we stream (no default limit beyond the descriptor's size, but a sane ceiling).
MAX_BLOB_BYTES = 64 * 1024 * 1024 * 1024
# Referrer descriptors collected from one listing, over all its pages: a referrers API may answer thousands of
# new descriptors per page with a next link, forever (issue 7.3). cosign reads at most 100 signatures
# (maxAllowedSigsOrAtts); 1,000 leaves room for attestations, SBOMs and other tools' artifacts.
MAX_REFERRERS = 1_000
# cosign's maxAllowedSigsOrAtts (pkg/cosign/fetch.go): more signatures than this on one image is refused, by
# ``verify`` and ``download signature`` alike (``--max-signatures`` changes it).
DEFAULT_MAX_SIGNATURES = 100

# -- an image's filesystem read from its layers (imagefs, issue 12 item 2) --
# A layer's uncompressed tar, summed over the image: the largest public images (CUDA, ML runtimes) unpack to
# 20-30 GiB; more than this is a decompression bomb, refused before it is read further.
MAX_UNCOMPRESSED_BYTES = 64 * 1024 * 1024 * 1024
# The ratio uncompressed/compressed of one layer, checked once it has produced _RATIO_FLOOR bytes: real layers
# compress 2-10x (text-heavy ones up to ~20x); gzip cannot exceed ~1032x, zstd and a tar of zeros can reach
# millions. 200x is ten times any real layer we know of.
MAX_COMPRESSION_RATIO = 200
COMPRESSION_RATIO_FLOOR = 64 * 1024 * 1024
# Tar entries over the image, counted as they stream: a full Debian with build tools has ~150,000 paths, the
# largest images we know of ~1,000,000.
MAX_TAR_ENTRIES = 2_000_000
# The content of a PAX extended header or a GNU long name/link entry: a path is at most PATH_MAX (4 KiB) on Linux.
MAX_TAR_HEADER_BYTES = 1024 * 1024
# The bytes of one file a cataloger wants (an rpmdb.sqlite of a large RHEL image is ~50 MiB); a larger one is
# skipped with a problem, never read into memory.
MAX_WANTED_FILE_BYTES = 128 * 1024 * 1024
# The bytes of every wanted file kept at once (all layers' own views count too): the memory a scan may hold.
MAX_WANTED_BYTES = 512 * 1024 * 1024
# Problems listed in a FileView: past this, one line says how many more there were (a hostile tar can repeat a bad
# entry millions of times).
MAX_PROBLEMS = 1_000
# An image config read whole (`inspect`'s platform and labels; a scan's diff_ids and labels): configs are a few
# KiB, with a long history a few hundred KiB.
MAX_CONFIG_BYTES = 16 * 1024 * 1024

# Package metadata the SBOM catalogers read whole from an image (issue 12, item 3); a larger file is not kept by
# the walker (the cap applies in ``wants``, from the tar header) and is reported as a problem, never read.
# A package database: dpkg's status (3-15 MB on a desktop system), apk's installed, rpmdb.sqlite (5-100 MB).
MAX_PACKAGE_DB_BYTES = MAX_WANTED_FILE_BYTES
# One package's metadata: a package.json, METADATA/PKG-INFO, a gemspec, a copyright file, os-release (a few KB;
# the largest real ones, licence texts and long descriptions, stay under 200 KB).
MAX_PACKAGE_METADATA_BYTES = 1024 * 1024
# A package.json (npm's own are 1-5 KB; 100 MB must not be read): the named case of the cap above.
MAX_PACKAGE_JSON_BYTES = MAX_PACKAGE_METADATA_BYTES
# An executable searched for Go or Rust build information (kubectl: 50 MB; the largest Go binaries, ~200 MB, are
# listed with a problem). These whole-file caps are the walker's: a cataloger cannot be given more bytes than the walk
# keeps of one file, so one number holds both (a larger cap here would only be a promise the walk breaks).
MAX_BINARY_BYTES = MAX_WANTED_FILE_BYTES
# A Java archive (jar/war/ear), as stored, and what its entries may expand to, in total and per entry ratio;
# nested archives are opened this many levels deep (syft opens nested jars too).
MAX_ARCHIVE_BYTES = MAX_WANTED_FILE_BYTES
MAX_ARCHIVE_EXPANDED_BYTES = 1024 * 1024 * 1024
MAX_ARCHIVE_RATIO = 200
MAX_ARCHIVE_DEPTH = 4
MAX_ARCHIVE_ENTRIES = 100_000

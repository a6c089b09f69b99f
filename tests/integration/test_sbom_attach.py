"""``attach sbom``, ``download sbom``, ``attach artifact`` and ``download artifact`` against an OCI layout and the
real registry (Debian's docker-registry, distribution 2.8: no referrers API, so referrers go through the referrers
tag), with skopeo reading what we wrote.

The ORAS CLI (oras-go) is not installed and Debian has no ``oras`` package (``apt-cache policy oras`` shows none);
oras-py (PyPI ``oras``, the ORAS project's Python client) is the ORAS peer here: it pulls what ``attach artifact``
pushed, naming each file by its title as ``oras pull`` does (``oras discover`` has no oras-py counterpart: skopeo
reads the referrers tag index instead). skopeo also reads the cosign ``.sbom`` manifest as any registry client
would.
"""

from __future__ import annotations

import base64
import json
import subprocess
import uuid
from pathlib import Path

import pytest

from supplychain.digest import Digest
from supplychain.errors import ExitCode
from supplychain.formats.dsse import IN_TOTO_PAYLOAD_TYPE
from supplychain.formats.intoto import SPDX_PREDICATE
from supplychain.oci.model import EMPTY_DESCRIPTOR, EMPTY_JSON, Descriptor, build_manifest, parse_manifest
from supplychain.sbom.formats import SbomFormat
from supplychain.sbom.write import render_sbom
from tests.integration.test_attachment_cli import Target, run, target  # noqa: F401 (the target fixture)
from tests.support.inventory import inventory
from tests.support.registry import RegistryProcess
from tests.support.signatures import CliResult, generate_cli_key_pair, run_cli

pytestmark = pytest.mark.integration


def _digest(t: Target, tag: str = "single") -> Digest:
    result = run(["inspect", "-o", "json", t.ref(tag)], t.config_dir)
    assert result.code == 0, result
    return Digest.parse(json.loads(result.stdout)["digest"])


def _skopeo_raw(t: Target, tag: str) -> dict[str, object]:
    source = f"docker://{t.repository}:{tag}" if t.kind == "registry" else f"oci:{t.layout_path}:{tag}"
    done = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", source], capture_output=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)


def _sbom_file(tmp_path: Path, fmt: SbomFormat = SbomFormat.CYCLONEDX_JSON) -> Path:
    path = tmp_path / ("app.cdx.json" if fmt is SbomFormat.CYCLONEDX_JSON else "app.spdx.json")
    path.write_text(render_sbom(inventory(), fmt))
    return path


def test_attach_sbom_as_a_referrer_and_download_it(target: Target, tmp_path: Path) -> None:  # noqa: F811
    sbom = _sbom_file(tmp_path)
    result = run(["attach", "sbom", "--sbom", str(sbom), target.ref()], target.config_dir)
    assert result.code == 0, result
    assert "application/vnd.cyclonedx+json attached to" in result.stderr
    down = run(["download", "sbom", target.ref()], target.config_dir)
    assert down.code == 0, down
    assert down.stdout.encode() == sbom.read_bytes()
    assert "from referrer sha256:" in down.stderr
    if target.kind == "registry":
        # No referrers API in distribution 2.8: the referrer is listed in the referrers tag, which skopeo reads.
        listing = _skopeo_raw(target, _digest(target).tag_form)
        (entry,) = listing["manifests"]  # type: ignore[misc]
        assert entry["artifactType"] == "application/vnd.cyclonedx+json"  # type: ignore[index]


@pytest.mark.parametrize("layer_type", [None, "application/vnd.oci.image.layer.v1.tar"])
def test_an_sbom_referrer_typed_only_by_its_artifact_type_is_downloaded(target: Target, tmp_path: Path,  # noqa: F811
                                                                        layer_type: str | None) -> None:
    """A referrer of artifact type application/vnd.cyclonedx+json whose file has a generic media type (``attach
    artifact``'s application/octet-stream; ``oras attach --artifact-type ...``'s default layer type) is an SBOM."""
    sbom = _sbom_file(tmp_path)
    spec = str(sbom) + (f":{layer_type}" if layer_type else "")
    result = run(["attach", "artifact", "--artifact-type", "application/vnd.cyclonedx+json", target.ref(), spec],
                 target.config_dir)
    assert result.code == 0, result
    down = run(["download", "sbom", target.ref()], target.config_dir)
    assert down.code == 0, down
    assert down.stdout.encode() == sbom.read_bytes()
    other = run(["attach", "artifact", "--artifact-type", "application/vnd.example.report.v1+json", target.ref("multi"),
                 spec], target.config_dir)
    assert other.code == 0, other
    run(["download", "sbom", target.ref("multi")], target.config_dir).assert_one_line_error(
        ExitCode.NOT_FOUND, "no SBOM attached")  # a generic file of another artifact type is no SBOM


def test_attach_sbom_legacy_writes_cosigns_sbom_tag(target: Target, tmp_path: Path) -> None:  # noqa: F811
    sbom = _sbom_file(tmp_path, SbomFormat.SPDX_JSON)
    result = run(["attach", "sbom", "--sbom", str(sbom), "--type", "spdx", "--legacy", target.ref()],
                 target.config_dir)
    assert result.code == 0, result
    digest = _digest(target)
    manifest = _skopeo_raw(target, f"{digest.tag_form}.sbom")
    (layer,) = manifest["layers"]  # type: ignore[misc]
    assert layer["mediaType"] == "text/spdx+json"  # type: ignore[index]
    assert layer["digest"] == str(Digest.of(sbom.read_bytes()))  # type: ignore[index]
    again = run(["attach", "sbom", "--sbom", str(sbom), "--legacy", target.ref()], target.config_dir)
    assert again.code == 0 and "already attached" in again.stderr
    down = run(["download", "sbom", target.ref()], target.config_dir)
    assert down.code == 0 and down.stdout.encode() == sbom.read_bytes()
    assert ".sbom layer 0" in down.stderr


@pytest.mark.parametrize("content, fragment", [
    (b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"name": "x"}]}',
     "is not valid CycloneDX: 'type' is a required property"),
    (b'{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT"}', "is not valid SPDX"),
    (b"SPDXVersion: SPDX-2.3\n", "neither a CycloneDX JSON nor an SPDX JSON document"),
])
def test_attach_refuses_what_is_not_a_valid_sbom(target: Target, tmp_path: Path, content: bytes,  # noqa: F811
                                                 fragment: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    result = run(["attach", "sbom", "--sbom", str(bad), target.ref()], target.config_dir)
    result.assert_one_line_error(ExitCode.INVALID_INPUT, fragment)
    down = run(["download", "sbom", target.ref()], target.config_dir)
    down.assert_one_line_error(ExitCode.NOT_FOUND, "no SBOM attached")  # nothing was written


def test_attach_refuses_a_type_that_is_not_the_files(target: Target, tmp_path: Path) -> None:  # noqa: F811
    result = run(["attach", "sbom", "--sbom", str(_sbom_file(tmp_path)), "--type", "spdx", target.ref()],
                 target.config_dir)
    result.assert_one_line_error(ExitCode.INVALID_INPUT, "is a cyclonedx document, not spdx")


def _buildkit_index(target: Target, spdx: bytes) -> str:  # noqa: F811 (the fixture's value)
    """Push an index like BuildKit's ``--sbom=true`` output (docs.docker.com "Image attestation storage"): the
    fixture's ``multi`` index plus, for its first image, an attestation manifest (platform unknown/unknown,
    ``vnd.docker.reference.type: attestation-manifest``, ``vnd.docker.reference.digest``) whose layer is an
    in-toto statement (``application/vnd.in-toto+json``, ``in-toto.io/predicate-type``) with the SPDX document as
    its predicate. Returns the new tag."""
    from supplychain.config import Settings
    from supplychain.reference import parse_reference
    from supplychain.store import open_store

    ref = parse_reference(target.ref("multi"))
    settings = Settings(docker_config_dir=target.config_dir, insecure_registries=("127.0.0.1", "localhost"))
    with open_store(ref, settings) as store:
        index = store.get_manifest("multi")
        child = index.manifests[0]  # type: ignore[union-attr]
        statement = json.dumps({
            "_type": "https://in-toto.io/Statement/v0.1", "predicateType": SPDX_PREDICATE,
            "subject": [{"name": "pkg:docker/app@1.0", "digest": {"sha256": child.digest.hex}}],
            "predicate": json.loads(spdx),
        }).encode()
        layer = Descriptor.for_bytes(IN_TOTO_PAYLOAD_TYPE, statement,
                                     annotations={"in-toto.io/predicate-type": SPDX_PREDICATE})
        store.put_blob(layer, [statement])
        store.put_blob(EMPTY_DESCRIPTOR, [EMPTY_JSON])
        manifest = build_manifest(EMPTY_DESCRIPTOR, [layer])
        store.put_manifest(manifest)
        doc = json.loads(index.raw)
        doc["manifests"].append({
            "mediaType": manifest.media_type, "digest": str(manifest.digest), "size": len(manifest.raw),
            "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                            "vnd.docker.reference.digest": str(child.digest)},
            "platform": {"architecture": "unknown", "os": "unknown"}})
        store.put_manifest(parse_manifest(json.dumps(doc).encode(), doc["mediaType"]), tag="buildkit")
        platform = child.platform
    assert platform is not None
    return str(platform)


def test_download_sbom_from_a_buildkit_attestation_manifest(target: Target, tmp_path: Path) -> None:  # noqa: F811
    spdx = render_sbom(inventory(), SbomFormat.SPDX_JSON).encode()
    platform = _buildkit_index(target, spdx)
    down = run(["download", "sbom", "--platform", platform, target.ref("buildkit")], target.config_dir)
    assert down.code == 0, down
    assert json.loads(down.stdout) == json.loads(spdx)
    assert "BuildKit attestation manifest" in down.stderr and SPDX_PREDICATE in down.stderr
    every = run(["download", "sbom", target.ref("buildkit")], target.config_dir)  # the index: every platform's
    assert every.code == 0 and json.loads(every.stdout) == json.loads(spdx)


def test_attach_and_download_artifacts(target: Target, tmp_path: Path) -> None:  # noqa: F811
    report, notes = tmp_path / "report.json", tmp_path / "notes.txt"
    report.write_text('{"ok": true}\n')
    notes.write_text("hello\n")
    kind = "application/vnd.example.report.v1+json"
    result = run(["attach", "artifact", "--artifact-type", kind, target.ref(), f"{report}:application/json",
                  str(notes)], target.config_dir)
    assert result.code == 0, result
    out = tmp_path / "out"
    down = run(["download", "artifact", "--artifact-type", kind, "-o", str(out), target.ref()], target.config_dir)
    assert down.code == 0, down
    assert (out / "report.json").read_text() == '{"ok": true}\n' and (out / "notes.txt").read_text() == "hello\n"
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory\n")
    unwritable = run(["download", "artifact", "--artifact-type", kind, "-o", str(blocked / "out"), target.ref()],
                     target.config_dir)
    unwritable.assert_one_line_error(ExitCode.INVALID_INPUT, "cannot write")
    assert blocked.read_text() == "not a directory\n"
    none = run(["download", "artifact", "--artifact-type", "application/x-none", "-o", str(out), target.ref()],
               target.config_dir)
    none.assert_one_line_error(ExitCode.NOT_FOUND, "no referrer of artifact type application/x-none")
    if target.kind == "registry":
        listing = _skopeo_raw(target, _digest(target).tag_form)
        assert kind in {m["artifactType"] for m in listing["manifests"]}  # type: ignore[index, union-attr]


def test_bad_arguments_and_files_are_refused_before_the_image_is_read(target: Target,  # noqa: F811
                                                                          tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    for annotation in ("no-equals", "=value"):
        bad = run(["attach", "artifact", "--artifact-type", "application/x-none", "-a", annotation, target.ref(),
                   str(notes)], target.config_dir)
        bad.assert_one_line_error(ExitCode.INVALID_INPUT, f"invalid annotation {annotation!r}: expected key=value")
    empty = run(["download", "sbom", "--platform", "", target.ref("multi")], target.config_dir)
    empty.assert_one_line_error(ExitCode.USAGE, "--platform", "empty")
    malformed = run(["download", "sbom", "--platform", "linux", target.ref("multi")], target.config_dir)
    malformed.assert_one_line_error(ExitCode.INVALID_INPUT, "linux")
    empty_file = tmp_path / "empty.json"
    empty_file.write_bytes(b"")
    for path, says in ((tmp_path / "missing.json", "does not exist"), (tmp_path, "cannot read"),
                       (empty_file, "is empty")):
        for args in (["attach", "sbom", "--sbom", str(path)], ["attach", "artifact", "--artifact-type",
                                                                  "application/x-none", "-a", "k=v"]):
            unread = run([*args, target.ref(), *([str(path)] if args[1] == "artifact" else [])], target.config_dir)
            if path == tmp_path and args[1] == "sbom":  # --sbom is a click.Path(dir_okay=False): click says so
                unread.assert_one_line_error(ExitCode.USAGE, "--sbom", "is a directory")
                continue
            unread.assert_one_line_error(ExitCode.INVALID_INPUT, f"{path}", says)
            assert "hint: check the path; an SBOM or artifact file to attach is read whole" in unread.stderr
    listing = run(["tree", "-o", "json", target.ref()], target.config_dir)
    assert listing.code == 0 and "application/x-none" not in listing.stdout  # nothing was attached


def test_oras_pulls_an_attached_artifact_by_its_titles(registry: RegistryProcess, fixture_layout: Path,
                                                       tmp_path: Path) -> None:
    import oras.client

    repository = f"{registry.host}/oras/{uuid.uuid4().hex[:12]}"
    copied = run(["copy", f"oci:{fixture_layout}:single", f"{repository}:single"], tmp_path)
    assert copied.code == 0, copied
    report, notes = tmp_path / "report.json", tmp_path / "notes.txt"
    report.write_bytes(b'{"ok": true}\n')
    notes.write_bytes(b"hello\n")
    kind = "application/vnd.example.report.v1+json"
    attached = run(["attach", "artifact", "--artifact-type", kind, f"{repository}:single",
                    f"{report}:application/json", str(notes)], tmp_path)
    assert attached.code == 0, attached
    # Found without our code: skopeo reads the referrers tag (OCI distribution 1.1, "referrers tag schema").
    there = Target("registry", repository, tmp_path)
    subject = Digest.of(subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false",
                                        f"docker://{repository}:single"], capture_output=True, check=True).stdout)
    listing = _skopeo_raw(there, subject.tag_form)
    (referrer,) = [m for m in listing["manifests"] if m.get("artifactType") == kind]  # type: ignore[union-attr]
    out = tmp_path / "pulled"
    client = oras.client.OrasClient(hostname=registry.host, insecure=True)
    pulled = client.pull(target=f"{repository}@{referrer['digest']}", outdir=str(out))
    assert sorted(Path(p).name for p in pulled) == ["notes.txt", "report.json"]
    assert (out / "report.json").read_bytes() == b'{"ok": true}\n' and (out / "notes.txt").read_bytes() == b"hello\n"


@pytest.mark.parametrize("title", ["../x", "/etc/x", "a/b", "..", ""])
def test_download_artifact_refuses_titles_that_leave_the_directory(target: Target, tmp_path: Path,  # noqa: F811
                                                                  title: str) -> None:
    from supplychain.config import Settings
    from supplychain.reference import parse_reference
    from supplychain.store import open_store

    kind = "application/vnd.example.hostile+json"
    content = b"owned\n"
    settings = Settings(docker_config_dir=target.config_dir, insecure_registries=("127.0.0.1", "localhost"))
    with open_store(parse_reference(target.ref()), settings) as store:
        subject = store.resolve("single")
        annotations = {"org.opencontainers.image.title": title} if title else {}
        layer = Descriptor.for_bytes("text/plain", content, annotations=annotations)
        store.put_blob(layer, [content])
        store.put_blob(EMPTY_DESCRIPTOR, [EMPTY_JSON])
        store.put_manifest(build_manifest(EMPTY_DESCRIPTOR, [layer], subject=subject, artifact_type=kind))
    out = tmp_path / "deep" / "out"
    result = run(["download", "artifact", "--artifact-type", kind, "-o", str(out), target.ref()], target.config_dir)
    result.assert_one_line_error(ExitCode.INTEGRITY, "title" if not title else "not a plain file name")
    assert not out.exists() and not (tmp_path / "deep" / "x").exists() and not Path("/etc/x").exists()


def test_generate_attach_attest_and_read_back_an_images_sbom(target: Target, tmp_path: Path) -> None:  # noqa: F811
    """The demo's path on both stores: ``sbom generate`` of the image where it lives (a registry is read over the
    distribution API), attached, attested as a CycloneDX predicate, the attestation verified and its statement's
    predicate the very document, and ``download sbom`` giving the same bytes back."""
    sbom = tmp_path / "image.cdx.json"
    made = run(["sbom", "generate", target.ref(), "-q", "-o", f"cyclonedx-json={sbom}"], target.config_dir)
    assert made.code == ExitCode.OK, made
    document = json.loads(sbom.read_bytes())
    assert len([c for c in document["components"] if c.get("purl")]) == 18  # the fixture's packages, either store
    assert run(["attach", "sbom", "--sbom", str(sbom), target.ref()], target.config_dir).code == ExitCode.OK
    key, pub = generate_cli_key_pair(tmp_path / "cosign", "sbom-test-password")
    name = ["--reference-name", "example.test/app"] if target.kind == "layout" else []  # a layout names no registry
    attested = run_cli_in_env(target, ["attest", target.ref(), "--key", str(key), "--type", "cyclonedx",
                                       "--predicate", str(sbom), *name], {"SUPPLYCHAIN_PASSWORD": "sbom-test-password"})
    assert attested.code == ExitCode.OK, attested
    verified = run(["verify-attestation", target.ref(), "--key", str(pub), "--type", "cyclonedx"], target.config_dir)
    assert verified.code == ExitCode.OK, verified
    (line,) = verified.stdout.splitlines()
    statement = json.loads(base64.b64decode(json.loads(line)["payload"]))
    assert statement["predicateType"] == "https://cyclonedx.org/bom"
    assert statement["predicate"] == document
    down = run(["download", "sbom", target.ref()], target.config_dir)
    assert down.code == ExitCode.OK, down
    assert down.stdout.encode() == sbom.read_bytes()


def run_cli_in_env(where: Target, args: list[str], env: dict[str, str]) -> CliResult:
    """``run`` with ``env`` added (a password for ``attest``)."""
    return run_cli(args, env={"DOCKER_CONFIG": str(where.config_dir), "SUPPLYCHAIN_INSECURE_REGISTRIES": None, **env})

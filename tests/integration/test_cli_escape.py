"""Terminal escapes from a registry or a layout never reach the screen raw (issue 7.8, CVE-2021-25743's class).

An image's publisher chooses its labels, annotations, artifact types and (in a layout) tag names. Printed raw,
ESC/OSC sequences drive the terminal, CR and BS overwrite what was printed, and U+202E reverses it. The text
forms of inspect, tree and ls show each of them escaped (visibly, never dropped); ``-o json`` keeps them exact.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supplychain.layout import OciLayout
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import EMPTY_DESCRIPTOR, EMPTY_JSON, Descriptor, build_manifest
from tests.support.registry import RegistryProcess
from tests.support.signatures import run_cli

pytestmark = pytest.mark.integration

# ESC CSI (clear screen), OSC 0 (window title, BEL-terminated), OSC 8 (hyperlink, ST-terminated), CR, BS,
# U+202E (right-to-left override), DEL and a C1 CSI (U+009B).
HOSTILE = "ok\x1b[2J\x1b]0;pwned\x07\x1b]8;;http://evil.example\x1b\\link\rFAKE\x08\x08\u202etxt.exe\x7f\x9b31m"
RAW = ("\x1b", "\x07", "\r", "\x08", "\u202e", "\x7f", "\x9b")
ESCAPED = ("\\x1b[2J", "\\x1b]0;pwned\\x07", "\\r", "\\x08", "\\u202e", "\\x7f", "\\x9b")
ARTIFACT_TYPE = "application/vnd.example\x1b[31m\u202e+json"


def crafted_layout(path: Path) -> tuple[OciLayout, Descriptor]:
    """An image whose label, annotation (key and value) carry HOSTILE, a referrer whose artifactType and
    annotation carry escapes, and a tag name (written into index.json as another tool could) that does."""
    layout = OciLayout(path, create=True)
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z\x1b[1A",
        "config": {"Labels": {"org.example.title": HOSTILE, f"k{HOSTILE}": "v"}},
        "rootfs": {"type": "layers", "diff_ids": []},
    }).encode()
    config_desc = Descriptor.for_bytes(MediaType.OCI_CONFIG, config)
    layer = b"layer"
    layer_desc = Descriptor.for_bytes(MediaType.OCI_LAYER_GZIP, layer)
    for desc, data in ((config_desc, config), (layer_desc, layer), (EMPTY_DESCRIPTOR, EMPTY_JSON)):
        layout.put_blob(desc, [data])
    image = build_manifest(config_desc, [layer_desc], annotations={"org.example.note": HOSTILE})
    subject = layout.put_manifest(image, tag="v1").descriptor
    referrer = build_manifest(EMPTY_DESCRIPTOR, [EMPTY_DESCRIPTOR], subject=subject, artifact_type=ARTIFACT_TYPE,
                              annotations={"org.example.referrer": HOSTILE})
    layout.put_manifest(referrer)
    index_file = path / "index.json"
    index = json.loads(index_file.read_text())
    entry = dict(index["manifests"][0])
    entry["annotations"] = {"org.opencontainers.image.ref.name": f"evil{HOSTILE}"}
    index["manifests"].append(entry)
    index_file.write_text(json.dumps(index))
    return layout, subject


def assert_escaped(text: str) -> None:
    for char in RAW:
        assert char not in text, f"raw {char!r} reached the output"
    for shown in ESCAPED:
        assert shown in text, f"{shown} is not shown"


def test_inspect_text_escapes_labels_and_annotations_json_is_exact(tmp_path: Path):
    crafted_layout(tmp_path / "l")
    result = run_cli(["inspect", f"oci:{tmp_path / 'l'}:v1"])
    assert result.code == 0, result.stderr
    assert_escaped(result.stdout)
    assert "org.example.title=ok\\x1b[2J" in result.stdout
    assert "Created:     2024-01-01T00:00:00Z\\x1b[1A" in result.stdout
    doc = json.loads(run_cli(["inspect", f"oci:{tmp_path / 'l'}:v1", "-o", "json"]).stdout)
    assert doc["config"]["labels"]["org.example.title"] == HOSTILE
    assert doc["config"]["labels"][f"k{HOSTILE}"] == "v"
    assert doc["annotations"]["org.example.note"] == HOSTILE


def test_tree_text_escapes_artifact_type_json_is_exact(tmp_path: Path):
    crafted_layout(tmp_path / "l")
    result = run_cli(["tree", f"oci:{tmp_path / 'l'}:v1"])
    assert result.code == 0, result.stderr
    for char in RAW:
        assert char not in result.stdout
    assert "[application/vnd.example\\x1b[31m\\u202e+json]" in result.stdout
    doc = json.loads(run_cli(["tree", f"oci:{tmp_path / 'l'}:v1", "-o", "json"]).stdout)
    assert doc["children"][0]["artifactType"] == ARTIFACT_TYPE


def test_ls_escapes_tag_names_json_is_exact(tmp_path: Path):
    crafted_layout(tmp_path / "l")
    result = run_cli(["ls", f"oci:{tmp_path / 'l'}"])
    assert result.code == 0, result.stderr
    assert_escaped(result.stdout)
    assert result.stdout.splitlines() == ["v1", "evilok\\x1b[2J\\x1b]0;pwned\\x07\\x1b]8;;http://evil.example\\x1b\\link"
                                       "\\rFAKE\\x08\\x08\\u202etxt.exe\\x7f\\x9b31m"]
    doc = json.loads(run_cli(["ls", f"oci:{tmp_path / 'l'}", "-o", "json"]).stdout)
    assert doc["Tags"] == ["v1", f"evil{HOSTILE}"]


def test_registry_image_with_escapes(tmp_path: Path, registry: RegistryProcess):
    _, subject = crafted_layout(tmp_path / "l")
    dest = f"{registry.host}/escape/app"
    copied = run_cli(["copy", f"oci:{tmp_path / 'l'}:v1", f"{dest}:v1"])
    assert copied.code == 0, copied.stderr
    for command in (["inspect", f"{dest}:v1"], ["tree", f"{dest}@{subject.digest}"]):
        result = run_cli(command)
        assert result.code == 0, result.stderr
        for char in RAW:
            assert char not in result.stdout, (command, char)
        assert "\\x1b" in result.stdout and "\\u202e" in result.stdout
    doc = json.loads(run_cli(["inspect", f"{dest}:v1", "-o", "json"]).stdout)
    assert doc["config"]["labels"]["org.example.title"] == HOSTILE


def test_error_lines_escape_server_text(tmp_path: Path):
    # A layout's index.json entry whose tag holds escapes: the not-found hint lists the tags, escaped.
    crafted_layout(tmp_path / "l")
    result = run_cli(["inspect", f"oci:{tmp_path / 'l'}:nope"])
    assert result.code == 4
    assert result.stderr.startswith("error: tag 'nope' not found")
    for char in RAW:
        assert char not in result.stderr
    assert "\\u202e" in result.stderr


def test_benign_text_is_unchanged(fixture_layout: Path):
    result = run_cli(["inspect", f"oci:{fixture_layout}:single"])
    assert result.code == 0
    assert "\\x" not in result.stdout and "\\u" not in result.stdout
    assert "org.opencontainers.image.source=" in result.stdout

"""``summary.summarize`` and its renderers (``report.image``): sizes, config fields, ``--platform`` checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from supplychain.errors import ExitCode
from supplychain.layout import OciLayout
from supplychain.oci.mediatype import MediaType
from supplychain.oci.model import Descriptor, Manifest, Platform, build_manifest
from supplychain.report.image import render_summary_text, summary_json
from supplychain.summary import PlatformMismatchError, summarize


def _image_with_config(layout: OciLayout, config: dict[str, Any]) -> Manifest:
    raw = json.dumps(config).encode()
    config_desc = Descriptor.for_bytes(MediaType.OCI_CONFIG, raw)
    layer = Descriptor.for_bytes(MediaType.OCI_LAYER, b"layer bytes")
    layout.put_blob(config_desc, [raw])
    layout.put_blob(layer, [b"layer bytes"])
    manifest = build_manifest(config_desc, [layer])
    layout.put_manifest(manifest, tag="img")
    return manifest


def test_sizes(fixture_layout: Path):
    layout = OciLayout(fixture_layout)
    summary = summarize(layout, "single", reference="oci:x:single")
    manifest = layout.get_manifest("single")
    assert isinstance(manifest, Manifest)
    layers = sum(layer.size for layer in manifest.layers)
    assert summary.layers_size == layers
    assert summary.total_size == len(manifest.raw) + manifest.config.size + layers

    doc = summary_json(summary)
    assert doc["layersSize"] == layers
    assert doc["totalSize"] == len(manifest.raw) + manifest.config.size + layers
    text = render_summary_text(summary)
    assert "Layers:      4 (5.7 kB)" in text  # layers only (the manifest and config are not layers)
    assert "Total size:  8.2 kB (manifest + config + layers)" in text


@pytest.mark.parametrize(
    ("inner", "expected"),
    [
        ({}, {"env": None, "entrypoint": None, "cmd": None}),
        ({"Entrypoint": None, "Cmd": None, "Env": None}, {"env": None, "entrypoint": None, "cmd": None}),
        ({"Entrypoint": [], "Cmd": ["sh"], "Env": []}, {"env": [], "entrypoint": [], "cmd": ["sh"]}),
    ],
)
def test_absent_config_lists_are_null(tmp_path: Path, inner: dict[str, Any], expected: dict[str, Any]):
    layout = OciLayout(tmp_path / "l", create=True)
    _image_with_config(layout, {"architecture": "amd64", "os": "linux", "config": inner})
    config = summary_json(summarize(layout, "img"))["config"]
    assert {key: config[key] for key in expected} == expected


def test_platform_of_a_single_image(tmp_path: Path):
    layout = OciLayout(tmp_path / "l", create=True)
    manifest = _image_with_config(layout, {"architecture": "arm64", "os": "linux", "variant": "v8"})
    assert summarize(layout, "img", platform=Platform("linux", "arm64")).descriptor.digest == manifest.digest
    assert summarize(layout, "img", platform=Platform("linux", "arm64", "v8")).descriptor.digest == manifest.digest
    mismatch = "not multi-platform: it is linux/arm64/v8, not linux/amd64"
    with pytest.raises(PlatformMismatchError, match=mismatch) as info:
        summarize(layout, "img", platform=Platform("linux", "amd64"))
    assert info.value.exit_code == ExitCode.NOT_FOUND
    assert info.value.hint.startswith("drop --platform")


def test_platform_of_an_image_whose_config_names_none(tmp_path: Path):
    layout = OciLayout(tmp_path / "l", create=True)
    _image_with_config(layout, {"rootfs": {"type": "layers", "diff_ids": []}})
    with pytest.raises(PlatformMismatchError, match="its config names no platform"):
        summarize(layout, "img", platform=Platform("linux", "amd64"))

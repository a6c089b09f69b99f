"""The CycloneDX and SPDX writers: every document validates with the libraries' own validators, reads back, says
where each package came from, and is the same bytes for the same inventory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supplychain.sbom import formats
from supplychain.sbom.formats import OutputFormatError, OutputSpec, SbomFormat, parse_outputs
from supplychain.sbom.validate import InvalidSbomError, validate_document
from supplychain.sbom.write import render_sbom, write_outputs
from tests.support.inventory import APT, PIP, deb, inventory

ALL = tuple(SbomFormat)


@pytest.mark.parametrize("fmt", ALL)
def test_every_format_validates_with_the_libraries_validator(fmt: SbomFormat) -> None:
    text = render_sbom(inventory(), fmt)
    validate_document(text.encode(), fmt)  # raises with the validator's message


def test_cyclonedx_json_validates_with_the_strict_json_schema() -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = render_sbom(inventory(), SbomFormat.CYCLONEDX_JSON)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    assert json.loads(text)["specVersion"] == "1.6"


def test_cyclonedx_xml_validates_with_the_xml_schema() -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.xml import XmlValidator

    text = render_sbom(inventory(), SbomFormat.CYCLONEDX_XML)
    assert XmlValidator(SchemaVersion.V1_6).validate_str(text) is None
    assert 'xmlns="http://cyclonedx.org/schema/bom/1.6"' in text


@pytest.mark.parametrize("fmt", [SbomFormat.SPDX_JSON, SbomFormat.SPDX_TAG_VALUE])
def test_spdx_validates_and_parses_back_with_spdx_tools(fmt: SbomFormat, tmp_path: Path) -> None:
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    from supplychain.sbom.spdx import build_document

    inv = inventory()
    assert validate_full_spdx_document(build_document(inv)) == []
    path = tmp_path / ("sbom.spdx.json" if fmt is SbomFormat.SPDX_JSON else "sbom.spdx")
    path.write_text(render_sbom(inv, fmt))
    document = parse_file(str(path))
    assert validate_full_spdx_document(document) == []
    purls = {ref.locator for p in document.packages for ref in p.external_references if ref.reference_type == "purl"}
    assert {p.purl for p in inv.packages} <= purls
    assert document.creation_info.spdx_version == "SPDX-2.3"


def test_cyclonedx_reads_back_with_the_library_deserializer() -> None:
    from cyclonedx.model.bom import Bom

    inv = inventory()
    bom = Bom.from_json(json.loads(render_sbom(inv, SbomFormat.CYCLONEDX_JSON)))  # type: ignore[attr-defined]
    purls = {str(c.purl) for c in bom.components if c.purl is not None}
    assert purls == {p.purl for p in inv.packages}


@pytest.mark.parametrize("fmt", ALL)
def test_same_inventory_same_bytes(fmt: SbomFormat) -> None:
    assert render_sbom(inventory(), fmt) == render_sbom(inventory(), fmt)


def test_package_order_does_not_change_the_document() -> None:
    inv = inventory()
    shuffled = inventory(tuple(reversed(inv.packages)))
    assert render_sbom(shuffled, SbomFormat.CYCLONEDX_JSON) == render_sbom(inv, SbomFormat.CYCLONEDX_JSON)


def test_serial_number_and_namespace_follow_the_content() -> None:
    from supplychain.sbom.spdx import namespace

    one = json.loads(render_sbom(inventory(), SbomFormat.CYCLONEDX_JSON))
    other_inv = inventory((deb("bash", "5.2.15-2+b2"),))
    other = json.loads(render_sbom(other_inv, SbomFormat.CYCLONEDX_JSON))
    assert one["serialNumber"].startswith("urn:uuid:")
    assert one["serialNumber"] != other["serialNumber"]
    assert namespace(inventory()) != namespace(other_inv)
    assert namespace(inventory()).endswith(one["serialNumber"].removeprefix("urn:uuid:"))


def test_timestamp_is_source_date_epoch_then_image_creation_then_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert json.loads(render_sbom(inventory(), SbomFormat.CYCLONEDX_JSON))["metadata"]["timestamp"] == \
        "2024-01-01T00:00:00+00:00"
    bare = inventory(created=None, labels=())
    assert formats.document_time(bare).year == 1970
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert json.loads(render_sbom(inventory(), SbomFormat.SPDX_JSON))["creationInfo"]["created"] == \
        "2023-11-14T22:13:20Z"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(Exception, match="SOURCE_DATE_EPOCH"):
        render_sbom(inventory(), SbomFormat.CYCLONEDX_JSON)


def test_go_nanosecond_creation_times_are_read() -> None:
    inv = inventory(created="2024-03-05T10:11:12.123456789Z")
    assert formats.document_time(inv, {}).isoformat() == "2024-03-05T10:11:12+00:00"


def _properties(component: dict[str, object]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in component.get("properties", [])}  # type: ignore[attr-defined]


def test_cyclonedx_carries_the_layer_of_each_package_as_syft_names_it() -> None:
    doc = json.loads(render_sbom(inventory(), SbomFormat.CYCLONEDX_JSON))
    bash = next(c for c in doc["components"] if c["name"] == "bash")
    props = _properties(bash)
    assert props["syft:location:0:layerID"] == APT.diff_id
    assert props["syft:location:0:path"] == "/var/lib/dpkg/status"
    assert props["supplychain:layer:digest"] == APT.digest
    assert props["syft:package:type"] == "deb"
    assert bash["purl"] == "pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12"
    assert bash["bom-ref"].startswith(bash["purl"] + "&package-id=")
    certifi = next(c for c in doc["components"] if c["name"] == "certifi")
    assert _properties(certifi)["syft:location:0:layerID"] == PIP.diff_id


def test_cyclonedx_metadata_names_the_image_its_labels_and_platform() -> None:
    doc = json.loads(render_sbom(inventory(), SbomFormat.CYCLONEDX_JSON))
    component = doc["metadata"]["component"]
    assert component["type"] == "container"
    assert component["version"] == inventory().image.digest
    props = _properties(doc["metadata"])
    assert props["syft:image:labels:org.opencontainers.image.source"] == \
        "https://github.com/example/supplychain-fixture"
    assert props["supplychain:image:platform"] == "linux/amd64"
    assert props["supplychain:image:layer:1:diffID"] == APT.diff_id
    os_component = next(c for c in doc["components"] if c["type"] == "operating-system")
    assert (os_component["name"], os_component["version"]) == ("debian", "12")


def test_cyclonedx_licences_ids_names_and_expressions() -> None:
    doc = json.loads(render_sbom(inventory(), SbomFormat.CYCLONEDX_JSON))
    by_name = {c["name"]: c.get("licenses") for c in doc["components"]}
    assert by_name["ca-certificates"] == [{"license": {"id": "GPL-2.0-or-later"}}, {"license": {"id": "MPL-2.0"}}]
    # One compound licence among several: CycloneDX 1.6 allows one expression only, so they are joined.
    assert by_name["libc6"] == [{"expression": "LGPL-2.1-or-later AND (GPL-2.0-or-later AND LicenseRef-Unicode)"}]


@pytest.mark.parametrize("fmt", list(SbomFormat))
def test_every_format_keeps_each_licence_ref_as_written(fmt: SbomFormat) -> None:
    """license-expression's SPDX licensing, which spdx-tools parses with, renames LicenseRefs it has ScanCode
    aliases for (LicenseRef-LICENSE is its LicenseRef-scancode-proprietary-license, LicenseRef-GPL its
    GPL-1.0-or-later); both writers keep ours, and SPDX declares each one it uses."""
    licenses = ("LicenseRef-LICENSE", "MIT OR LicenseRef-GPL")
    text = render_sbom(inventory((deb("tool", "1.0", licenses=licenses),)), fmt)
    validate_document(text.encode(), fmt, what="the document")
    assert "LicenseRef-LICENSE AND (MIT OR LicenseRef-GPL)" in text
    assert "scancode" not in text and "GPL-1.0" not in text
    if fmt is SbomFormat.SPDX_JSON:
        assert {"LicenseRef-LICENSE", "LicenseRef-GPL"} <= {
            e["licenseId"] for e in json.loads(text)["hasExtractedLicensingInfos"]}


def test_spdx_annotates_the_layer_and_the_labels() -> None:
    doc = json.loads(render_sbom(inventory(), SbomFormat.SPDX_JSON))
    bash = next(p for p in doc["packages"] if p["name"] == "bash")
    comments = {a["comment"] for a in bash["annotations"]}
    assert f"syft:location:0:layerID={APT.diff_id}" in comments
    assert f"supplychain:layer:digest={APT.digest}" in comments
    root = next(p for p in doc["packages"] if p.get("primaryPackagePurpose") == "CONTAINER")
    assert "syft:image:labels:org.opencontainers.image.title=supplychain-fixture" in \
        {a["comment"] for a in root["annotations"]}
    assert root["checksums"] == [{"algorithm": "SHA256", "checksumValue": inventory().image.digest.split(":")[1]}]
    purl = next(r["referenceLocator"] for r in root["externalRefs"])
    assert purl.startswith("pkg:oci/app@sha256:6eab") and "repository_url=registry.example.com/fixture/app" in purl
    assert {"LicenseRef-Unicode", "LicenseRef-public-domain"} <= \
        {e["licenseId"] for e in doc["hasExtractedLicensingInfos"]}
    describes = [r for r in doc["relationships"] if r["relationshipType"] == "DESCRIBES"]
    assert [(r["spdxElementId"], r["relatedSpdxElement"]) for r in describes] == [("SPDXRef-DOCUMENT", root["SPDXID"])]


def test_parse_outputs_as_syft() -> None:
    assert parse_outputs([]) == (OutputSpec(SbomFormat.CYCLONEDX_JSON, None),)
    assert parse_outputs(["spdx-json=out.json", "cyclonedx-xml"]) == (
        OutputSpec(SbomFormat.SPDX_JSON, "out.json"), OutputSpec(SbomFormat.CYCLONEDX_XML, None))
    assert parse_outputs(["cyclonedx"])[0].format is SbomFormat.CYCLONEDX_XML  # syft's alias


@pytest.mark.parametrize("values, message", [
    (["yaml"], "unknown SBOM format 'yaml'"),
    (["spdx-json", "cyclonedx-json"], "more than one -o writes to standard output"),
    (["spdx-json=a", "cyclonedx-json=a"], "same file"),
    (["spdx-json="], "no file"),
])
def test_parse_outputs_refuses(values: list[str], message: str) -> None:
    with pytest.raises(OutputFormatError, match=message) as caught:
        parse_outputs(values)
    assert caught.value.hint


def test_write_outputs_writes_each_file_and_returns_stdout(tmp_path: Path) -> None:
    specs = parse_outputs([f"spdx-json={tmp_path / 'a.spdx.json'}", f"cyclonedx-xml={tmp_path / 'a.cdx.xml'}",
                           "cyclonedx-json"])
    out = write_outputs(inventory(), specs, validate=True)
    assert out is not None and json.loads(out)["bomFormat"] == "CycloneDX"
    assert json.loads((tmp_path / "a.spdx.json").read_text())["spdxVersion"] == "SPDX-2.3"
    assert (tmp_path / "a.cdx.xml").read_text().startswith("<?xml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.cdx.xml", "a.spdx.json"]  # no temp files left


@pytest.mark.parametrize("fmt, data, message", [
    (SbomFormat.CYCLONEDX_JSON, b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"name": 1}]}',
     "is not valid CycloneDX"),
    (SbomFormat.CYCLONEDX_JSON, b'{"hello": 1}', "not a CycloneDX document"),
    (SbomFormat.CYCLONEDX_JSON, b'{"bomFormat": "CycloneDX", "specVersion": "9.9"}', "specVersion '9.9'"),
    (SbomFormat.SPDX_JSON, b'{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT"}', "is not valid SPDX"),
    (SbomFormat.SPDX_JSON, b"not json", "is not JSON"),
    (SbomFormat.SPDX_TAG_VALUE, b"SPDXVersion: SPDX-2.3\nnonsense\n", "is not valid SPDX"),
])
def test_validate_document_refuses_with_the_validators_message(fmt: SbomFormat, data: bytes, message: str) -> None:
    with pytest.raises(InvalidSbomError, match=message) as caught:
        validate_document(data, fmt)
    assert caught.value.exit_code == 3 and caught.value.hint

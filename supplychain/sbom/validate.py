"""Is this an SBOM? The libraries' own validators, and what each costs (issue 12, item 4), wrapped in one error.

Measured on this machine (2 cores, shared), a 300-package inventory (``tests/support/inventory.many_packages``),
one fresh process each, seconds:

| format | write | validator import | validate | parse back |
|---|---|---|---|---|
| CycloneDX JSON (``JsonStrictValidator``, jsonschema) | 0.94 | 0.09 | 0.70 | 0.35 (``Bom.from_json``) |
| CycloneDX XML (``XmlValidator``, lxml) | 0.67 | 0.01 | 0.03 | - |
| SPDX JSON (``validate_full_spdx_document``) | 0.35 build + 0.41 | 0.06 | 0.36 (model) | 0.28 (JSON parser) |
| SPDX tag-value | 0.35 build + 0.09 | 0.06 | 0.36 (model) | 20.3 (the ply parser) |

The scan itself is ~0.5 s (the issue's floor), so what we chose:

- ``sbom generate`` does not validate what it writes by default: each document is built only through the
  libraries' models (cyclonedx-python-lib's and spdx-tools' types, licences through their factories and
  license-expression), and the tests validate every shape we write with these validators and read it back with
  syft and trivy. A JSON schema pass (0.70 s) or an SPDX model check (0.36 s) would each cost about a scan.
  ``validate_document`` is there for a caller that wants it (``--validate``).
- ``attach sbom`` always validates (the file came from elsewhere; the upload dwarfs 0.7 s): CycloneDX JSON with
  the JSON schema validator, SPDX JSON with spdx-tools' JSON parser and ``validate_full_spdx_document``.
  Tag-value and XML are not attached: parsing tag-value costs 20 s per 300 packages and the referrer artifact
  types are the JSON ones (``application/vnd.cyclonedx+json``, ``application/spdx+json``); convert first.
- The CycloneDX XML validator needs lxml (the library's ``xml-validation`` extra), a test dependency only.
"""

from __future__ import annotations

from collections.abc import Sequence

from supplychain.errors import InvalidInputError
from supplychain.sbom.formats import SbomFormat


class InvalidSbomError(InvalidInputError):
    """A document that is not a valid SBOM of the format it claims to be (the validator's message)."""

    # Also for sbom diff's inputs; a generator's own output can be invalid (syft 1.18.1's SPDX JSON has npm
    # downloadLocation values spdx-tools refuses), so the hint does not send the user back to one.
    default_hint = ("check the file with the format's own validator (cyclonedx validate, pyspdxtools -i FILE); to "
                    "attach a file the validator refuses anyway: supplychain attach artifact --artifact-type "
                    "application/spdx+json (or application/vnd.cyclonedx+json) REF FILE")


def sniff_format(data: bytes) -> SbomFormat | None:
    """The JSON format ``data`` claims to be: ``bomFormat: CycloneDX`` or ``spdxVersion``; ``None`` otherwise."""
    from supplychain.formats.strictjson import JsonFormatError, loads_untrusted

    try:
        doc = loads_untrusted(data)
    except JsonFormatError:
        return None
    if isinstance(doc, dict):
        if doc.get("bomFormat") == "CycloneDX":
            return SbomFormat.CYCLONEDX_JSON
        if isinstance(doc.get("spdxVersion"), str):
            return SbomFormat.SPDX_JSON
    return None


def validate_document(data: bytes, fmt: SbomFormat, *, what: str = "the SBOM") -> None:
    """Raise ``InvalidSbomError`` with the validator's message unless ``data`` is a valid ``fmt`` document."""
    match fmt:
        case SbomFormat.CYCLONEDX_JSON | SbomFormat.CYCLONEDX_XML:
            _validate_cyclonedx(data, fmt, what)
        case SbomFormat.SPDX_JSON:
            _validate_spdx_json(data, what)
        case SbomFormat.SPDX_TAG_VALUE:
            _validate_spdx_tag_value(data, what)


def _validate_cyclonedx(data: bytes, fmt: SbomFormat, what: str) -> None:
    from cyclonedx.schema import SchemaVersion

    from supplychain.formats.strictjson import JsonFormatError, loads_untrusted

    text = _text(data, what)
    if fmt is SbomFormat.CYCLONEDX_JSON:
        from cyclonedx.validation.json import JsonStrictValidator

        try:
            doc = loads_untrusted(data)
        except JsonFormatError as exc:
            raise InvalidSbomError(f"{what} is not JSON: {exc.message}") from exc
        version = doc.get("specVersion") if isinstance(doc, dict) else None
        if not isinstance(doc, dict) or doc.get("bomFormat") != "CycloneDX":
            raise InvalidSbomError(f'{what} is not a CycloneDX document (no "bomFormat": "CycloneDX")')
        try:
            schema = SchemaVersion.from_version(str(version))
        except ValueError:
            raise InvalidSbomError(f"{what} names CycloneDX specVersion {version!r}, which is none the validator "
                                   "knows") from None
        error: object | None = JsonStrictValidator(schema).validate_str(text)
    else:
        from cyclonedx.validation.xml import XmlValidator

        error = XmlValidator(SchemaVersion.V1_6).validate_str(text)
    if error is not None:
        # The library's error wraps jsonschema's (or lxml's): its message and where, not the schema it quotes.
        cause = getattr(error, "data", None)
        detail = getattr(cause, "message", None) or str(error)
        where = getattr(cause, "json_path", None)
        raise InvalidSbomError(f"{what} is not valid CycloneDX: {_first_line(str(detail))}"
                               + (f" (at {where})" if where and where != "$" else ""))


def _validate_spdx_json(data: bytes, what: str) -> None:
    from spdx_tools.spdx.parser.error import SPDXParsingError
    from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import JsonLikeDictParser
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    from supplychain.formats.strictjson import JsonFormatError, loads_untrusted

    try:
        doc = loads_untrusted(data)
    except JsonFormatError as exc:
        raise InvalidSbomError(f"{what} is not JSON: {exc.message}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("spdxVersion"), str):
        raise InvalidSbomError(f'{what} is not an SPDX document (no "spdxVersion")')
    try:
        document = JsonLikeDictParser().parse(doc)  # type: ignore[no-untyped-call]
    except SPDXParsingError as exc:
        raise InvalidSbomError(f"{what} is not valid SPDX: {parsing_messages(exc)}") from exc
    _check_spdx(validate_full_spdx_document(document), what)


def _validate_spdx_tag_value(data: bytes, what: str) -> None:
    from spdx_tools.spdx.parser.error import SPDXParsingError
    from spdx_tools.spdx.parser.tagvalue.parser import Parser
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    try:
        document = Parser().parse(_text(data, what))  # type: ignore[no-untyped-call]
    except SPDXParsingError as exc:
        raise InvalidSbomError(f"{what} is not valid SPDX: {parsing_messages(exc)}") from exc
    _check_spdx(validate_full_spdx_document(document), what)


def parsing_messages(exc: Exception) -> str:
    """spdx-tools' parsing error (``SPDXParsingError``: a list of messages) as one line."""
    messages = exc.get_messages()  # type: ignore[attr-defined]
    return _first_line("; ".join(str(m) for m in messages))


def _check_spdx(messages: Sequence[object], what: str) -> None:
    if messages:
        first = messages[0]
        text = getattr(first, "validation_message", str(first))
        more = f" (and {len(messages) - 1} more)" if len(messages) > 1 else ""
        raise InvalidSbomError(f"{what} is not valid SPDX: {_first_line(text)}{more}")


def _text(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidSbomError(f"{what} is not UTF-8 text: {exc.reason} at byte {exc.start}") from exc


def _first_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


__all__ = ["InvalidSbomError", "sniff_format", "validate_document"]

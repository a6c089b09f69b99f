"""Package URLs, built one way for every cataloger (purl-spec, with packageurl-python)."""

from __future__ import annotations

from collections.abc import Mapping


def purl(
    type: str,
    name: str,
    version: str | None,
    *,
    namespace: str | None = None,
    qualifiers: Mapping[str, str | None] | None = None,
    subpath: str | None = None,
) -> str:
    """``pkg:type/namespace/name@version?qualifiers`` (empty qualifiers dropped; packageurl-python sorts them, as
    the purl-spec's canonical form says)."""
    from packageurl import PackageURL

    kept = {key: value for key, value in (qualifiers or {}).items() if value}
    return str(PackageURL(type=type, namespace=namespace or None, name=name, version=version or None,
                          qualifiers=kept or None, subpath=subpath or None).to_string())


__all__ = ["purl"]

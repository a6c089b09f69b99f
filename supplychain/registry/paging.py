"""``Link`` header pagination (OCI distribution spec, "Listing Tags" and the catalog extension; RFC 8288).

A registry that pages its tag list or catalog answers with ``Link: <url>; rel="next"``. The server controls
that URL, so the loop is bounded: at most ``max_pages`` pages, never the same URL twice, and the caller checks
the origin of every link before following it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from supplychain.errors import RegistryError, SizeLimitError

T = TypeVar("T")

# One link-value of RFC 8288 section 3: "<" URI-Reference ">" *( OWS ";" OWS link-param ).
_LINK_VALUE = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]*)*)")
_REL = re.compile(r"""(?:^|;)\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))""", re.IGNORECASE)

# A page of tags or repositories is small JSON; cap what we read of it.
MAX_PAGE_BYTES = 16 * 1024 * 1024


def next_link(header: str | None) -> str | None:
    """The target of the ``rel="next"`` link in a ``Link`` header value, or ``None``."""
    if not header:
        return None
    for match in _LINK_VALUE.finditer(header):
        params = match.group(2)
        for rel in _REL.finditer(params):
            relations = (rel.group(1) if rel.group(1) is not None else rel.group(2)).lower().split()
            if "next" in relations:
                return match.group(1).strip()
    return None


def paginate(
    first: str,
    fetch: Callable[[str], tuple[Iterable[T], str | None]],
    *,
    max_pages: int,
    what: str,
) -> Iterator[T]:
    """Yield the items of every page, starting at URL ``first``.

    ``fetch(url)`` returns a page's items and the absolute URL of the next page (already checked to stay on
    the registry's origin), or ``None`` at the end. A link back to a page already read, or more than
    ``max_pages`` pages, is an error rather than an endless loop.
    """
    seen = {first}
    url: str | None = first
    pages = 0
    while url is not None:
        if pages >= max_pages:
            raise SizeLimitError(
                f"{what}: more than {max_pages} pages; stopped following the registry's Link headers",
                hint="the registry may be paginating in a loop; if the list is really that long, "
                "raise max_pages in the settings",
            )
        items, following = fetch(url)
        pages += 1
        yield from items
        if following is not None and following in seen:
            raise RegistryError(
                f"{what}: the registry's next-page Link points back to a page already read ({following})",
                hint="the registry's pagination is broken; report it to its operator",
            )
        if following is not None:
            seen.add(following)
        url = following

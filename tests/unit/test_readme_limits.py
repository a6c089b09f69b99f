"""The README's Limits table names every cap in the package (issue 7: "the README's limits table lists every cap
with its default"), so a cap added later without a row fails here instead of going undocumented."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Module-level constants that cap something a server, layout or file controls (or how much we take of it).
CAP = re.compile(r"^(_?(?:MAX|DEFAULT_MAX)_[A-Z_]+) = ", re.MULTILINE)
# Not caps on what others send: grammar bounds and value ranges, the display of messages, our own recursion.
NOT_CAPS = {
    "MAX_NAME_LENGTH", "MAX_PORT", "MAX_RECURSION_DEPTH", "_MAX_NAMES_SHOWN", "_MAX_SHOWN", "_MAX_TREE_ID",
    "MAX_LOG_INDEX", "MAX_TREE_SIZE", "MAX_JSON_INTEGER", "MAX_BATCH", "_MAX_CHUNK_LINE", "_MAX_TRAILERS",
    "_MAX_SALT_SIZE", "_MAX_PROBED", "INTEGER_MAX",
}


def _limits_table() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Limits"):]
    return section[: section.index("\n### ", 1)]


def test_every_cap_in_the_package_is_in_the_readme_limits_table():
    table = _limits_table()
    missing = []
    for path in sorted((ROOT / "supplychain").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT / "supplychain").with_suffix("").parts)
        for name in CAP.findall(path.read_text()):
            if name not in NOT_CAPS and f"{module}.{name}" not in table:
                missing.append(f"{module}.{name}")
    assert not missing, f"caps without a row in README's Limits table: {missing}"


def test_every_cap_the_table_names_exists():
    """The other direction: a row naming a constant that was renamed or removed is stale."""
    table = _limits_table()
    for module, name in re.findall(r"`([a-z_.]+)\.([A-Z_][A-Za-z_]+)`", table):
        if module == "Settings":
            continue
        path = ROOT / "supplychain" / (module.replace(".", "/") + ".py")
        assert path.exists(), f"{module} (named in the Limits table) is not a module"
        assert re.search(rf"^{name} = ", path.read_text(), re.MULTILINE), f"{module}.{name} does not exist"

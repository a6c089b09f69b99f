"""``report.text.escape``: every control, format (bidi) and separator character shown as a visible escape."""

from __future__ import annotations

import json

import pytest

from supplychain.report.text import escape, escape_json_text


@pytest.mark.parametrize(("raw", "shown"), [
    ("\x1b[31mred", "\\x1b[31mred"),            # CSI
    ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),  # OSC, BEL-terminated
    ("a\rb\x08c\nd\te", "a\\rb\\x08c\\nd\\te"),
    ("\x7f\x85\x9b", "\\x7f\\x85\\x9b"),         # DEL, C1 NEL and CSI
    ("abc\u202edef\u2066\u200f", "abc\\u202edef\\u2066\\u200f"),  # bidi override, isolate, mark
    ("\u2028\u2029\ufeff\u200b", "\\u2028\\u2029\\ufeff\\u200b"),
    ("tag\U000e0041", "tag\\U000e0041"),          # a tag character (Cf) above the BMP
])
def test_escapes_are_visible(raw: str, shown: str):
    assert escape(raw) == shown


@pytest.mark.parametrize("text", ["plain ascii", "café ünïcode — 日本語 ✓", "emoji 🙂", "back\\slash", ""])
def test_printable_text_is_unchanged(text: str):
    assert escape(text) == text


def test_json_text_keeps_the_value_and_is_safe():
    doc = {"a": "x\u202e\x85\U000e0041\x1b", "b": "café"}
    text = json.dumps(doc, ensure_ascii=False)
    escaped = escape_json_text(text)
    assert json.loads(escaped) == doc
    assert not any(c in escaped for c in "\u202e\x85\x1b")
    assert "café" in escaped

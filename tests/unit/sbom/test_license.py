"""Declared licences to SPDX expressions (sbom.license): SPDX ids in any case, DEP-5's Debian names, rpm's and
DEP-5's lower-case operators, and LicenseRef- for what SPDX does not know, always a valid expression."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from license_expression import Licensing, get_spdx_licensing

from supplychain.sbom.license import license_ref, spdx_expression, spdx_id


@pytest.mark.parametrize(("declared", "expected"), [
    ("GPL-2+", "GPL-2.0-or-later"),
    ("GPL-2", "GPL-2.0-only"),
    ("LGPL-2.1+", "LGPL-2.1-or-later"),
    ("GPLv3+", "GPL-3.0-or-later"),
    ("BSD-3-clause", "BSD-3-Clause"),
    ("Expat", "MIT"),
    ("GPL-1+ or Artistic", "GPL-1.0-or-later OR Artistic-1.0-Perl"),
    ("LGPL-3+ or GPL-2+", "LGPL-3.0-or-later OR GPL-2.0-or-later"),
    ("BSL-1.0 and Jam", "BSL-1.0 AND Jam"),
    ("MIT and (GPLv2+ or BSD)", "MIT AND (GPL-2.0-or-later OR LicenseRef-BSD)"),  # rpm's style
    ("MIT, BSD-2-clause", "MIT AND BSD-2-Clause"),
    ("GPL-3.0-or-later WITH Autoconf-exception-3.0", "GPL-3.0-or-later WITH Autoconf-exception-3.0"),
    ("GPL-2+ with OpenSSL exception", "GPL-2.0-or-later AND LicenseRef-OpenSSL-exception"),
    ("GPL-2.0+", "GPL-2.0-or-later"),  # SPDX's deprecated form
    ("public-domain", "LicenseRef-public-domain"),
])
def test_declared_licences_become_spdx(declared: str, expected: str) -> None:
    assert spdx_expression(declared) == expected


@pytest.mark.parametrize(("declared", "expected"), [
    ("LICENSE", "LicenseRef-LICENSE"),  # not ScanCode's LicenseRef-scancode-proprietary-license
    ("LICENSE.md", "LicenseRef-LICENSE.md"),
    ("GPL", "LicenseRef-GPL"),  # not GPL-1.0-or-later: which GPL is not said
    ("Commercial", "LicenseRef-Commercial"),
    ("MIT or LICENSE", "MIT OR LicenseRef-LICENSE"),
    ("Apache and GPL-2", "LicenseRef-Apache AND GPL-2.0-only"),
])
def test_a_name_spdx_does_not_know_stays_the_licence_ref_it_became(declared: str, expected: str) -> None:
    """license-expression's SPDX licensing (30.x) carries ScanCode's aliases of LicenseRef- names (LicenseRef-LICENSE
    is its proprietary licence, LicenseRef-GPL its GPL-1.0-or-later): the expression is parsed without them."""
    assert spdx_expression(declared) == expected


def test_free_text_where_a_name_belongs_is_one_licence_ref() -> None:
    expression = spdx_expression("Permission to use, copy, modify, and distribute this software and its")
    assert expression is not None and expression.startswith("LicenseRef-Permission-to-use")
    assert " " not in expression


def test_every_result_parses_as_an_spdx_expression() -> None:
    licensing = get_spdx_licensing()
    declared_forms = ("GPL-2+ or Artistic", "(MIT", "GPL-2+ with Autoconf exception", "weird/name!",
                      "LGPLv3+_or_GPLv2+")
    for declared in declared_forms:
        expression = spdx_expression(declared)
        assert expression is not None
        assert licensing.parse(expression).render() == expression


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["MIT", "GPL-2+", "Expat", "and", "OR", "with", "(", ")", ",", "OpenSSL exception",
                                 "x y", "WITH", "LicenseRef-a"]), max_size=9).map(" ".join))
def test_any_declaration_is_none_or_a_valid_expression(declared: str) -> None:
    """Whatever a package declares, an expression or None, never an exception: the parser's errors on malformed
    input (its ExpressionError family, AssertionError, IndexError) become one LicenseRef."""
    expression = spdx_expression(declared)
    if expression is not None:
        Licensing().parse(expression)


@pytest.mark.parametrize("declared", ["( MIT , OR ( )", "( with A A"])  # its IndexError, its AssertionError
def test_a_declaration_the_parser_fails_on_is_one_licence_ref(declared: str) -> None:
    assert spdx_expression(declared) == license_ref(declared)


def test_nothing_declared_is_none() -> None:
    assert spdx_expression("") is None
    assert spdx_expression("  ") is None
    assert spdx_expression("()") is None


def test_licence_refs_keep_only_idstring_characters() -> None:
    assert license_ref("LGPLv3+_or_GPLv2+") == "LicenseRef-LGPLv3-or-GPLv2"
    assert license_ref("!!!") == "LicenseRef-unknown"
    assert spdx_id("apache-2.0") == "Apache-2.0"

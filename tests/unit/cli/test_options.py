"""The constants ``cli.options`` spells itself so that ``--help`` does not import ``config``."""

from __future__ import annotations

from supplychain import config
from supplychain.cli import options


def test_the_spelled_constants_are_configs() -> None:
    assert options.CONCURRENCY_LIMIT == config.MAX_CONCURRENCY
    assert options.CONCURRENCY_DEFAULT == config.DEFAULT_CONCURRENCY
    assert options.REKOR_URL_ENV == config.REKOR_URL_ENV

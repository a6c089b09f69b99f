"""``--debug`` attaches one stderr handler to the ``supplychain`` logger for the run, and takes it away after."""

from __future__ import annotations

import logging

import pytest

from supplychain.cli.main import _start_debug_log, main


def test_debug_log_is_attached_for_the_run_only(capsys: pytest.CaptureFixture[str]) -> None:
    logger = logging.getLogger("supplychain")
    before = (list(logger.handlers), logger.level)
    for args in (["--debug", "version"], ["version"]):
        with pytest.raises(SystemExit):
            main(args)
        assert (list(logger.handlers), logger.level) == before
    capsys.readouterr()


def test_debug_log_lines_are_one_escaped_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    child = logging.getLogger("supplychain.transport.log")
    stop = _start_debug_log()
    try:
        child.debug("> GET %s", "https://registry.test/v2/\x1b[31m\nX")
        child.warning("a warning")
    finally:
        stop()
    child.debug("after the run: nowhere")
    assert capsys.readouterr().err.splitlines() == [
        "debug: > GET https://registry.test/v2/\\x1b[31m X",
        "warning: a warning",
    ]

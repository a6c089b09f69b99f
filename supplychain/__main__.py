"""``python -m supplychain``: the same as the ``supplychain`` command."""

from supplychain.cli.main import main

main()

"""Options shared by the commands that talk to registries, and the ``Settings`` they build."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from supplychain.config import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


def registry_options(func: F) -> F:
    """``--ca-file`` and ``--insecure-registry``, as docker and skopeo users know them."""
    func = click.option(
        "--insecure-registry",
        "insecure_registries",
        multiple=True,
        metavar="HOST[:PORT]",
        help="Allow plain HTTP and unverified TLS for this registry (repeatable; "
        "also SUPPLYCHAIN_INSECURE_REGISTRIES=a,b). Loopback registries may use plain HTTP without it.",
    )(func)
    func = click.option(
        "--ca-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="PEM file of CA certificates to trust for registries (besides the system store and "
        "/etc/docker/certs.d/<host:port>/ca.crt).",
    )(func)
    return func


def output_option(func: F) -> F:
    return click.option(
        "--output",
        "-o",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="Result format on stdout.",
    )(func)


def build_settings(ca_file: Path | None, insecure_registries: tuple[str, ...]) -> Settings:
    """Settings from the environment, then the flags."""
    settings = load_settings()
    return settings.with_overrides(
        ca_file=ca_file,
        insecure_registries=(settings.insecure_registries | frozenset(insecure_registries))
        if insecure_registries
        else None,
    )

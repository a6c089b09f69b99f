"""``login`` and ``logout``: save and remove registry credentials in the docker config file, as docker does.

Thin adapters: options, one library call (``supplychain.registry.login.login`` / ``credentials.remove_credentials``),
then a line of output. The password never comes from argv: it is read from stdin (``--password-stdin``) or from a
hidden prompt. ``-p/--password`` exists only to refuse, so that a docker habit fails loudly instead of leaking
the password into shell history and the process list.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from supplychain.cli.options import build_settings, password_line, registry_tls_options
from supplychain.errors import ExitCode, InvalidInputError

if TYPE_CHECKING:
    from supplychain.registry.credentials import Credentials

DEFAULT_REGISTRY = "docker.io"


class LoginUsageError(InvalidInputError):
    """Options of ``login`` that cannot be used as given (exit status 2, like click's usage errors)."""

    exit_code = ExitCode.USAGE


@click.command("login")
@click.argument("registry", required=False, default=DEFAULT_REGISTRY, metavar="[REGISTRY]")
@click.option("-u", "--username", help="User name (prompted for when omitted).")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password (or token) from stdin, e.g. `printenv TOKEN | supplychain login -u me "
    "--password-stdin REGISTRY`.",
)
@click.option(
    "-p",
    "--password",
    "password_argument",
    metavar="PASSWORD",
    help="Not accepted: a password on the command line leaks into shell history and the process list. "
    "Use --password-stdin or the prompt.",
)
@click.option("--insecure", is_flag=True, help="Shorthand for --insecure-registry REGISTRY: allow plain HTTP and "
              "unverified TLS for it.")
@registry_tls_options
def login_command(
    registry: str,
    username: str | None,
    password_stdin: bool,
    password_argument: str | None,
    insecure: bool,
    ca_file: Path | None,
    insecure_registries: tuple[str, ...],
) -> None:
    """Log in to a registry: check the credentials against it, then save them to the docker config file.

    REGISTRY is host[:port] (default: Docker Hub). Credentials go to the credential helper configured in
    config.json (credHelpers, credsStore) when there is one, else into config.json itself (mode 0600).

    \b
    Examples:
      supplychain login registry.example.com -u ci --password-stdin < token.txt
      supplychain login localhost:5000 -u tester
    """
    from supplychain.registry.credentials import registry_host
    from supplychain.registry.login import login

    if password_argument is not None:
        raise LoginUsageError(
            "--password is not accepted: a password on the command line leaks into shell history and the "
            "process list",
            hint="pipe it in with --password-stdin, or leave both out to be prompted",
        )
    host = registry_host(registry)
    settings = build_settings(ca_file, (*insecure_registries, host) if insecure else insecure_registries)
    location = login(registry, _read_credentials(username, password_stdin), settings)
    if location.helper is None:
        click.echo(
            f"warning: the password is saved unencrypted in {location.config_path}; configure a credential "
            "helper (credsStore) to avoid it",
            err=True,
        )
    click.echo("Login Succeeded")


def _read_credentials(username: str | None, password_stdin: bool) -> Credentials:
    """The user name and password to log in with: ``-u`` and stdin (``--password-stdin``), else the terminal's
    prompts; refused empty, or with a colon in the user name."""
    from supplychain.registry.credentials import Credentials

    if password_stdin:
        if not username:
            raise LoginUsageError("--password-stdin needs --username", hint="add -u USER")
        password = password_line(sys.stdin.read())
    else:
        if sys.stdin is None or not sys.stdin.isatty():
            raise InvalidInputError(
                "no terminal to prompt for the password on",
                hint="pipe it in: printenv TOKEN | supplychain login -u USER --password-stdin REGISTRY",
            )
        if not username:
            username = click.prompt("Username", err=True)
        password = click.prompt("Password", hide_input=True, err=True)
    username = username.strip()
    if not username:
        raise LoginUsageError("a user name is required", hint="give it with -u USER")
    if ":" in username:
        # RFC 7617 section 2: the user-id of Basic credentials cannot contain a colon.
        raise LoginUsageError(f"user name {username!r} contains ':'", hint="a registry user name has no colon")
    if not password:
        raise LoginUsageError("a password is required", hint="pipe it in with --password-stdin, or type it")
    return Credentials(username, password)


@click.command("logout")
@click.argument("registry", required=False, default=DEFAULT_REGISTRY, metavar="[REGISTRY]")
def logout_command(registry: str) -> None:
    """Log out of a registry: remove its saved credentials (config.json and credential helper).

    REGISTRY is host[:port] (default: Docker Hub).

    \b
    Examples:
      supplychain logout registry.example.com
    """
    from supplychain.config import load_settings
    from supplychain.registry.credentials import remove_credentials, server_address

    server = server_address(registry)
    if remove_credentials(registry, load_settings()):
        click.echo(f"Removing login credentials for {server}")
    else:
        click.echo(f"Not logged in to {server}")

"""Where a private key's password comes from, for every command that opens or writes an encrypted key.

Passwords never come from the command line (argv is visible to every user of the machine): they come from
``--password-stdin`` (one line), else ``SUPPLYCHAIN_PASSWORD``, else ``COSIGN_PASSWORD`` (set but empty means
the empty password, as in cosign), else a hidden prompt on the terminal, asked twice when a key is being written.
With none of these (stdin is not a terminal, as in CI), the command fails at once rather than waiting on a prompt,
naming only the sources that command offers (``sign`` reads stdin for nothing, so it has no ``--password-stdin``).

Shared by ``cli.keys`` (generate, import, public-key) and ``cli.sign`` so that neither imports the other.
"""

from __future__ import annotations

import os
import sys

import click

from supplychain.errors import InvalidInputError

PASSWORD_ENV_VARS = ("SUPPLYCHAIN_PASSWORD", "COSIGN_PASSWORD")
_PROMPT = "Enter password for private key"  # cosign's wording


class PasswordMismatchError(InvalidInputError):
    """The two passwords typed at the prompt differ."""

    default_hint = "type the same password twice, or set SUPPLYCHAIN_PASSWORD"


class NoPasswordError(InvalidInputError):
    """No password source: no password variable, no ``--password-stdin``, and no terminal to prompt on."""

    default_hint = "in CI, set SUPPLYCHAIN_PASSWORD from a secret; an empty value means the empty password"


def read_password(*, confirm: bool, password_stdin: bool, offers_password_stdin: bool = True) -> bytes:
    """The password, from the first source that has one (see the module docstring).

    ``offers_password_stdin`` says whether the calling command has a ``--password-stdin`` option, so that the
    no-password error suggests only what the user can do with that command.
    """
    if password_stdin:
        line = sys.stdin.buffer.readline()
        return line.removesuffix(b"\n").removesuffix(b"\r")
    for name in PASSWORD_ENV_VARS:
        if name in os.environ:
            return os.fsencode(os.environ[name])
    if sys.stdin is None or not sys.stdin.isatty():
        raise NoPasswordError(no_password_message(offers_password_stdin))
    first: str = click.prompt(_PROMPT, hide_input=True, default="", show_default=False, err=True)
    if confirm:
        again: str = click.prompt(f"{_PROMPT} again", hide_input=True, default="", show_default=False, err=True)
        if again != first:
            raise PasswordMismatchError("passwords do not match")
    return first.encode("utf-8")


def no_password_message(offers_password_stdin: bool) -> str:
    """The error when no password source is available, naming the ones the command offers."""
    if offers_password_stdin:
        return "no password: set SUPPLYCHAIN_PASSWORD (or COSIGN_PASSWORD), pass --password-stdin, or run in a terminal"
    return "no password: set SUPPLYCHAIN_PASSWORD (or COSIGN_PASSWORD) or run in a terminal"

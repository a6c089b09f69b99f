"""Where a private key's password comes from, for every command that opens or writes an encrypted key.

Passwords never come from the command line (argv is visible to every user of the machine): they come from
``--password-stdin`` (one line), else ``SUPPLYCHAIN_PASSWORD``, else ``COSIGN_PASSWORD`` (set but empty means
the empty password, as in cosign; an empty ``SUPPLYCHAIN_PASSWORD`` does not shadow a non-empty
``COSIGN_PASSWORD``), else a hidden prompt on the terminal, asked twice when a key is being written. A wrong
password's hint names the source it came from (``PasswordSource.wrong_password_hint``). An empty
``--password-stdin`` line is refused where a key is written, unless the command is told ``--allow-empty-password``.
With none of these (stdin is not a terminal, as in CI), the command fails at once rather than waiting on a prompt,
naming only the sources that command offers (``sign`` reads stdin for nothing, so it has no ``--password-stdin``).

Shared by ``cli.keys`` (generate, import, public-key) and ``cli.sign`` so that neither imports the other.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, NamedTuple

import click

from supplychain.errors import InvalidInputError

if TYPE_CHECKING:
    from supplychain.keys import PrivateKey

_PROMPT = "Enter password for private key"  # cosign's wording
PROMPT_SOURCE = "prompt"
STDIN_SOURCE = "--password-stdin"


class PasswordMismatchError(InvalidInputError):
    """The two passwords typed at the prompt differ."""

    default_hint = "type the same password twice, or set SUPPLYCHAIN_PASSWORD"


class NoPasswordError(InvalidInputError):
    """No password source: no password variable, no ``--password-stdin``, and no terminal to prompt on."""

    default_hint = "in CI, set SUPPLYCHAIN_PASSWORD from a secret; an empty value means the empty password"


class EmptyPasswordError(InvalidInputError):
    """``--password-stdin`` gave an empty password for a key being written (an unset secret piped in, usually)."""

    default_hint = (
        "pipe the password in (e.g. printenv KEY_PASSWORD | ...), or pass --allow-empty-password to write a key "
        "whose password is empty on purpose"
    )


class PasswordSource(NamedTuple):
    """A password and where it came from: ``--password-stdin``, a variable's name, or ``prompt``.

    A named tuple, not a dataclass: the key commands import this module for ``--help``, which stays clear of
    ``dataclasses`` (tests/unit/cli/heavy_modules.txt)."""

    password: bytes
    source: str
    note: str = ""  # e.g. that a set-but-empty SUPPLYCHAIN_PASSWORD was passed over

    def wrong_password_hint(self) -> str:
        """What to do when this password does not open the key: about the source it came from."""
        if self.source == PROMPT_SOURCE:
            return "the password typed at the prompt is wrong; run the command again and type the key's password"
        if self.source == STDIN_SOURCE:
            return "the password read from standard input (--password-stdin) is wrong; pipe in the key's password"
        from supplychain.config import password_sources  # on use: --help imports no config

        unused = [name for name, _ in password_sources() if name != self.source]
        also = f" ({self.note})" if self.note else (
            f" ({unused[0]} is set too but was not used)" if unused else "")
        return f"the password from {self.source} is wrong{also}: set it to the key's password, or unset it to be " \
            "prompted"


def read_password(*, confirm: bool, password_stdin: bool, offers_password_stdin: bool = True) -> bytes:
    """The password, from the first source that has one (see ``read_password_source``)."""
    return read_password_source(confirm=confirm, password_stdin=password_stdin,
                                offers_password_stdin=offers_password_stdin).password


def read_password_source(
    *, confirm: bool, password_stdin: bool, offers_password_stdin: bool = True, allow_empty_stdin: bool = True
) -> PasswordSource:
    """The password and its source, from the first source that has one (see the module docstring).

    ``offers_password_stdin`` says whether the calling command has a ``--password-stdin`` option, so that the
    no-password error suggests only what the user can do with that command. ``allow_empty_stdin=False`` refuses
    an empty ``--password-stdin`` line (``EmptyPasswordError``): a command writing a key must not silently protect
    it with nothing because a secret was unset, as ``login`` refuses the same input.
    """
    if password_stdin:
        line = sys.stdin.buffer.readline()
        password = line.removesuffix(b"\n").removesuffix(b"\r")
        if not password and not allow_empty_stdin:
            raise EmptyPasswordError("--password-stdin read an empty password: refusing to write a key protected "
                                     "by nothing")
        return PasswordSource(password, STDIN_SOURCE)
    from_env = _password_from_environment()
    if from_env is not None:
        return from_env
    if sys.stdin is None or not sys.stdin.isatty():
        raise NoPasswordError(no_password_message(offers_password_stdin))
    first: str = click.prompt(_PROMPT, hide_input=True, default="", show_default=False, err=True)
    if confirm:
        again: str = click.prompt(f"{_PROMPT} again", hide_input=True, default="", show_default=False, err=True)
        if again != first:
            raise PasswordMismatchError("passwords do not match")
    return PasswordSource(first.encode("utf-8"), PROMPT_SOURCE)


def _password_from_environment() -> PasswordSource | None:
    """SUPPLYCHAIN_PASSWORD, else COSIGN_PASSWORD; set but empty means the empty password (as in cosign), but an
    empty SUPPLYCHAIN_PASSWORD does not shadow a non-empty COSIGN_PASSWORD (an empty value there is more likely
    an unset CI secret than a choice, while the COSIGN_PASSWORD a cosign pipeline sets is meant)."""
    from supplychain.config import PASSWORD_ENV_VARS, password_sources  # on use: --help imports no config

    present = list(password_sources())  # config: the one reader of these variables
    if not present:
        return None
    non_empty = [(name, value) for name, value in present if value]
    if non_empty:
        name, value = non_empty[0]
        passed_over = [other for other, _ in present if other != name and PASSWORD_ENV_VARS.index(other) <
                       PASSWORD_ENV_VARS.index(name)]
        note = f"{passed_over[0]} is set but empty, so {name} was used" if passed_over else ""
        return PasswordSource(os.fsencode(value), name, note)
    return PasswordSource(b"", present[0][0])


def open_private_key(ref: str, *, password_stdin: bool = False, offers_password_stdin: bool = True) -> PrivateKey:
    """The private key ``--key ref`` names (a path or ``env://VAR``), its password read only if it is encrypted;
    a wrong password's hint says which source the password came from."""
    from supplychain import keys  # here: cryptography stays out of `supplychain --help`

    used: list[PasswordSource] = []

    def password() -> bytes:
        used.append(read_password_source(confirm=False, password_stdin=password_stdin,
                                         offers_password_stdin=offers_password_stdin))
        return used[-1].password

    try:
        return keys.read_private_key(ref, password)
    except keys.WrongPasswordError as exc:
        raise keys.WrongPasswordError(exc.message, hint=used[-1].wrong_password_hint()) from exc


def no_password_message(offers_password_stdin: bool) -> str:
    """The error when no password source is available, naming the ones the command offers."""
    if offers_password_stdin:
        return "no password: set SUPPLYCHAIN_PASSWORD (or COSIGN_PASSWORD), pass --password-stdin, or run in a terminal"
    return "no password: set SUPPLYCHAIN_PASSWORD (or COSIGN_PASSWORD) or run in a terminal"

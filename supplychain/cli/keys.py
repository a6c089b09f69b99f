"""``generate-key-pair``, ``import-key-pair``, ``public-key``: cosign's key commands.

Passwords never come from the command line (argv is visible to every user of the machine): they come from
``--password-stdin`` (one line), else ``SUPPLYCHAIN_PASSWORD``, else ``COSIGN_PASSWORD`` (set but empty means
the empty password, as in cosign; an empty ``SUPPLYCHAIN_PASSWORD`` does not hide a non-empty ``COSIGN_PASSWORD``),
else a hidden prompt on the terminal, asked twice when a key is being written. An empty ``--password-stdin`` line
is refused for a new key unless ``--allow-empty-password``. Keys are files or cosign's ``env://VAR``.
With none of these (stdin is not a terminal, as in CI), the command fails at once rather than waiting on a prompt
(``supplychain.cli.password``, shared with ``sign``). ``supplychain.keys`` (and with it cryptography) is imported
inside the commands, so ``supplychain --help`` stays fast.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from supplychain.cli.password import PasswordSource, open_private_key, read_password_source

if TYPE_CHECKING:
    from supplychain.keys import KeyPair

# The values of supplychain.keys.KeyAlgorithm, repeated so that --help needs no cryptography import
# (a unit test keeps the two in step).
ALGORITHMS = ("ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519")
_KEY_COMMAND_EPILOG = (
    "The password comes from --password-stdin, else SUPPLYCHAIN_PASSWORD, else COSIGN_PASSWORD (an empty "
    "SUPPLYCHAIN_PASSWORD does not hide a non-empty COSIGN_PASSWORD), else a hidden prompt; it may be empty, "
    "except an empty --password-stdin line for a new key (--allow-empty-password)."
)

_password_stdin_option = click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of standard input."
)
_force_option = click.option("--force", is_flag=True, help="Overwrite existing key files.")
_allow_empty_option = click.option(
    "--allow-empty-password", is_flag=True,
    help="Accept an empty --password-stdin line (refused by default: an unset secret piped in would leave the key "
    "protected by nothing).",
)
F = TypeVar("F", bound=Callable[..., Any])


def _check_prefix(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A prefix must name files: not empty, not a directory (``dir/`` would write hidden ``dir/.key``)."""
    if not value or value.endswith(("/", os.sep)) or os.path.basename(value) in ("", ".", ".."):
        raise click.BadParameter(f"{value!r} does not name files; give e.g. cosign or keys/release")
    return value


def _key_option(help: str) -> Callable[[F], F]:
    """``--key/-k``: the private key a command reads."""
    return click.option("--key", "-k", "key_file", required=True, help=help)


def _prefix_option(default: str) -> Callable[[F], F]:
    """``--output-key-prefix``: where the key pair is written."""
    return click.option(
        "--output-key-prefix",
        default=default,
        show_default=True,
        callback=_check_prefix,
        help="Write PREFIX.key (encrypted private key, mode 0600) and PREFIX.pub (public key).",
    )


@click.command("generate-key-pair", epilog=_KEY_COMMAND_EPILOG)
@_prefix_option("cosign")
@click.option(
    "--algorithm",
    type=click.Choice(ALGORITHMS),
    default=ALGORITHMS[0],
    show_default=True,
    help="Key algorithm.",
)
@_force_option
@_password_stdin_option
@_allow_empty_option
def generate_key_pair_command(output_key_prefix: str, algorithm: str, force: bool, password_stdin: bool,
                              allow_empty_password: bool) -> None:
    """Generate a cosign-compatible key pair: an encrypted private key and its PEM public key.

    \b
    Examples:
      supplychain generate-key-pair
      supplychain generate-key-pair --output-key-prefix keys/release --algorithm ed25519
      printf %s "$PASSWORD" | supplychain generate-key-pair --password-stdin
    """
    from supplychain import keys  # here, to keep cryptography out of `supplychain --help`

    _write_new_key_pair(output_key_prefix, lambda: keys.generate_key_pair(algorithm), force=force,
                        password_stdin=password_stdin, allow_empty_password=allow_empty_password)


@click.command("import-key-pair", epilog=_KEY_COMMAND_EPILOG)
@_key_option("PEM private key to import: PKCS#1 RSA, SEC1 EC, or PKCS#8 RSA/EC/Ed25519.")
@_prefix_option("import-cosign")
@_force_option
@_password_stdin_option
@_allow_empty_option
def import_key_pair_command(key_file: str, output_key_prefix: str, force: bool, password_stdin: bool,
                            allow_empty_password: bool) -> None:
    """Import a PEM private key into cosign's encrypted key format, under a new password.

    \b
    Examples:
      supplychain import-key-pair --key openssl-ec.pem --output-key-prefix imported
    """
    from supplychain import keys  # here, to keep cryptography out of `supplychain --help`

    data = keys.read_key(key_file)
    try:
        private_key = keys.load_private_key_pem(data)
    except keys.InvalidKeyError as exc:
        raise keys.named_key_error(exc, key_file) from exc
    _write_new_key_pair(output_key_prefix, lambda: keys.KeyPair(private_key), force=force,
                        password_stdin=password_stdin, allow_empty_password=allow_empty_password)


@click.command("public-key", epilog=_KEY_COMMAND_EPILOG)
@_key_option("Private key: a cosign encrypted key, or an unencrypted PEM private key; env://VAR reads the PEM "
             "from the variable.")
@click.option("--outfile", default=None, help="Write the public key to this file instead of standard output.")
@_password_stdin_option
def public_key_command(key_file: str, outfile: str | None, password_stdin: bool) -> None:
    """Print the PKIX PEM public key of a private key.

    \b
    Examples:
      supplychain public-key --key cosign.key
      supplychain public-key --key cosign.key --outfile cosign.pub
    """
    from supplychain import keys  # here, to keep cryptography out of `supplychain --help`

    private_key = open_private_key(key_file, password_stdin=password_stdin)
    public_key = private_key.public_key()
    if outfile is None:
        click.echo(public_key.pem().decode("ascii"), nl=False)
        return
    keys.write_public_key(outfile, public_key)
    click.echo(f"Public key written to {outfile}", err=True)


def _write_new_key_pair(prefix: str, make_pair: Callable[[], KeyPair], *, force: bool, password_stdin: bool,
                        allow_empty_password: bool) -> None:
    """Write PREFIX.key and PREFIX.pub of a new key pair: refuse existing files (unless ``force``) before asking
    for the password, and make the pair (a slow RSA generation) only once the password is known.

    An empty password is taken from a set-but-empty variable or the prompt (as cosign takes ``COSIGN_PASSWORD=``
    or an empty line typed twice: a deliberate choice), but from ``--password-stdin`` only with
    ``--allow-empty-password`` (an unset secret piped in is the usual cause)."""
    from supplychain import keys

    if not force:
        keys.ensure_key_pair_absent(prefix)
    got: PasswordSource = read_password_source(confirm=True, password_stdin=password_stdin,
                                               allow_empty_stdin=allow_empty_password)
    written = keys.write_key_pair(prefix, make_pair(), got.password, force=force)
    # cosign prints these two lines to stderr; stdout stays empty (there is no result to pipe).
    click.echo(f"Private key written to {written.private_key}", err=True)
    click.echo(f"Public key written to {written.public_key}", err=True)

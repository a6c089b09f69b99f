"""Options shared by the commands that talk to registries, and the ``Settings`` they build."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from supplychain.cli.boolflag import GoBoolOption
from supplychain.config import DEFAULT_CONCURRENCY, MAX_CONCURRENCY, REKOR_URL_ENV
from supplychain.errors import ExitCode, InvalidInputError
from supplychain.report.format import Format

if TYPE_CHECKING:
    from supplychain.config import Settings
    from supplychain.oci.model import Platform

F = TypeVar("F", bound=Callable[..., Any])

# config's, under the names the options use. (They were spelled here once, so that --help would not import config;
# a stored --help builds no options at all now: cli.statichelp.)
CONCURRENCY_LIMIT = MAX_CONCURRENCY
CONCURRENCY_DEFAULT = DEFAULT_CONCURRENCY


REGISTRY_PASSWORD_ENV = "SUPPLYCHAIN_REGISTRY_PASSWORD"  # noqa: S105 - the variable's name, not a password
_USERNAME_META = "supplychain.registry_username"
_PASSWORD_STDIN_META = "supplychain.registry_password_stdin"  # noqa: S105 - a ctx.meta key


class CredentialUsageError(InvalidInputError):
    """``--registry-username`` / ``--registry-password-stdin`` given without their other half (exit 2, a usage
    error like click's)."""

    exit_code = ExitCode.USAGE


def _remember(key: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        ctx.meta[key] = value
    return callback


def registry_options(func: F) -> F:
    """``--ca-file``, ``--insecure-registry`` and the per-command credentials ``--registry-username`` (password
    from ``SUPPLYCHAIN_REGISTRY_PASSWORD`` or ``--registry-password-stdin``, never from argv, where every user of
    the machine can read it in the process list)."""
    func = click.option(
        "--registry-password-stdin",
        is_flag=True,
        expose_value=False,
        callback=_remember(_PASSWORD_STDIN_META),
        help="Read the --registry-username password (or token) from stdin.",
    )(func)
    func = click.option(
        "--registry-username",
        metavar="USER",
        expose_value=False,
        callback=_remember(_USERNAME_META),
        help=f"User name for the registries this command talks to (instead of saved credentials); the password "
        f"comes from {REGISTRY_PASSWORD_ENV} or --registry-password-stdin.",
    )(func)
    return registry_tls_options(func)


def registry_tls_options(func: F) -> F:
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


def concurrency_option(*, what: str = "") -> Callable[[F], F]:
    """``--concurrency N`` (1-64; default ``Settings.concurrency``, 8, or ``SUPPLYCHAIN_CONCURRENCY``), the one spelling
    of it: never more than N requests in flight to one registry, and N independent reads (or ``what``) at once. The
    command receives ``concurrency`` (``None`` when not given) and hands it to ``build_settings``."""
    def decorate(command: F) -> F:
        return click.option(
            "--concurrency",
            type=click.IntRange(1, CONCURRENCY_LIMIT),
            default=None,
            show_default=f"{CONCURRENCY_DEFAULT}, or $SUPPLYCHAIN_CONCURRENCY",
            help=f"{what + '; ' if what else ''}at most this many requests in flight to one registry.",
        )(command)
    return decorate


def output_option(func: F | None = None, *, default: Format = Format.TEXT,
                  help: str = "Result format on stdout.") -> Any:
    """``-o/--output FORMAT``, the one spelling of it: the choices are ``report.format.Format``'s, and the command
    receives a ``Format``. ``@output_option`` or ``@output_option(default=Format.JSON, help=...)``."""
    def decorate(command: F) -> F:
        return click.option(
            "--output",
            "-o",
            type=click.Choice([f.value for f in Format]),
            default=default.value,
            show_default=True,
            callback=lambda ctx, param, value: Format(value),
            help=help,
        )(command)
    return decorate if func is None else decorate(func)


def parse_platform(ctx: click.Context, param: click.Parameter, value: str | None) -> Platform | None:
    """The callback of every ``--platform OS/ARCH[/VARIANT]``: given empty is a usage error (never read as "no
    platform"); a malformed one is invalid input (``Platform.parse``)."""
    from supplychain.oci.model import Platform

    if value is None:
        return None
    if not value.strip():
        raise click.BadParameter("empty: write it as os/arch[/variant], e.g. linux/arm64/v8, or leave it out")
    return Platform.parse(value)


def output_given(ctx: click.Context) -> bool:
    """Whether ``-o`` was on the command line (not its default), for commands where it does not apply to a mode."""
    return ctx.get_parameter_source("output") is click.core.ParameterSource.COMMANDLINE


def echo_result(text: str, *, nl: bool = True) -> None:
    """A rendered result on stdout; nothing at all for an empty text result (no stray blank line)."""
    if text:
        click.echo(text, nl=nl)


def echo_lines(lines: Iterable[str]) -> None:
    """stderr lines: notes, warnings and hints around a result (STYLE.md section 9: stdout is the result)."""
    for line in lines:
        click.echo(line, err=True)


def build_settings(ca_file: Path | None, insecure_registries: tuple[str, ...], *,
                   concurrency: int | None = None) -> Settings:
    """Settings from the environment, then the flags."""
    from supplychain.config import load_settings

    settings = load_settings()
    username, password = _command_credentials()
    return settings.with_overrides(
        ca_file=ca_file,
        concurrency=concurrency,
        insecure_registries=(settings.insecure_registries | frozenset(insecure_registries))
        if insecure_registries
        else None,
        registry_username=username,
        registry_password=password,
    )


def _command_credentials() -> tuple[str | None, str | None]:
    """``--registry-username`` and its password (stdin first, then ``SUPPLYCHAIN_REGISTRY_PASSWORD``)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return None, None
    username = ctx.meta.get(_USERNAME_META)
    from_stdin = bool(ctx.meta.get(_PASSWORD_STDIN_META))
    if not username:
        if from_stdin:
            raise CredentialUsageError("--registry-password-stdin needs --registry-username",
                                       hint="add --registry-username USER")
        return None, None
    if ":" in username:
        # RFC 7617 section 2: a Basic user-id cannot contain a colon; "a:b" would be sent as user "a".
        raise CredentialUsageError(f"--registry-username {username!r} contains ':'",
                                   hint="a registry user name has no colon (login refuses it too)")
    if from_stdin:
        password = password_line(click.get_text_stream("stdin").read())
    else:
        password = os.environ.get(REGISTRY_PASSWORD_ENV, "")
    if not password:
        source = "stdin was empty" if from_stdin else (
            f"{REGISTRY_PASSWORD_ENV} is empty" if REGISTRY_PASSWORD_ENV in os.environ
            else f"{REGISTRY_PASSWORD_ENV} is not set")
        raise CredentialUsageError(
            f"--registry-username {username} has no password ({source})",
            hint=f"set {REGISTRY_PASSWORD_ENV}, or pipe it in with --registry-password-stdin "
            "(passwords are never taken from the command line)",
        )
    return username, password


def password_line(text: str) -> str:
    """A password read from stdin, as docker login --password-stdin takes it: the trailing newline of
    ``echo``/``printenv`` (LF or CRLF) dropped, nothing else (spaces may be part of it)."""
    return text.removesuffix("\n").removesuffix("\r")


# -- transparency log and certificates ------------------------------------------------------------------------

PUBLIC_GOOD_URL = "https://rekor.sigstore.dev"  # supplychain.trust.keyring.PUBLIC_GOOD_URL, repeated for --help

_EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _check_log_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A ``--rekor-url`` must be http(s): said at once, before any key lookup could report "no key for the log"."""
    if value is None or value == PUBLIC_GOOD_URL:
        return value
    from supplychain.trust.keyring import check_log_url  # here: --help stays free of the tlog stack

    return check_log_url(value)


def tlog_trust_options(func: F) -> F:
    """``--rekor-url`` (alias ``--url``), ``--rekor-public-key``, ``--trusted-root`` and ``--ca-file``: the
    ``tlog`` operator commands' trust options (the public-good log by default)."""
    func = click.option(
        "--ca-file",
        type=_EXISTING_FILE,
        help="PEM CA certificates to trust for the log's HTTPS (besides the system store).",
    )(func)
    func = _trusted_root_option(func)
    func = _rekor_public_key_option("The log's PEM public key (a local log's is DIR/log.pub).")(func)
    return _rekor_url_option("--url", f"Base URL of the Rekor log (also {REKOR_URL_ENV}).")(func)


def _rekor_url_option(alias: str, help: str, *, default: str | None = PUBLIC_GOOD_URL) -> Callable[[F], F]:
    """``--rekor-url`` (with ``alias``), from ``SUPPLYCHAIN_REKOR_URL`` too, checked to be http(s) at once."""
    if default is None:
        return click.option("--rekor-url", alias, "rekor_url", envvar=REKOR_URL_ENV, metavar="URL",
                            callback=_check_log_url, help=help)
    return click.option("--rekor-url", alias, "rekor_url", envvar=REKOR_URL_ENV, default=default, show_default=True,
                        callback=_check_log_url, help=help)


def _rekor_public_key_option(help: str, *, multiple: bool = False) -> Callable[[F], F]:
    """``--rekor-public-key FILE`` (``rekor_public_keys``, a tuple, when ``multiple``)."""
    if multiple:
        return click.option("--rekor-public-key", "rekor_public_keys", multiple=True, type=_EXISTING_FILE, help=help)
    return click.option("--rekor-public-key", type=_EXISTING_FILE, help=help)


def _trusted_root_option(func: F) -> F:
    return click.option(
        "--trusted-root",
        type=_EXISTING_FILE,
        help="Sigstore trusted_root.json (TrustedRoot v0.1) listing the log keys (and CAs) to trust.",
    )(func)


def sign_tlog_options(func: F) -> F:
    """``sign``'s transparency-log options (cosign's ``--tlog-upload``, ``--rekor-url``); ``--ca-file`` is shared
    with the registry options."""
    func = _trusted_root_option(func)
    func = _rekor_public_key_option(
        "The log's PEM public key, to check its answers. A log on this machine (loopback) may omit it: its "
        "own key is then fetched and trusted on first use.")(func)
    func = _rekor_url_option(
        "--tlog-url",
        f"The transparency log to record signatures in (also {REKOR_URL_ENV}). Default: the local log in "
        "${XDG_DATA_HOME:-~/.local/share}/supplychain/tlog, used in-process (created on first use).",
        default=None)(func)
    func = click.option(
        "--tlog-upload/--no-tlog-upload",
        cls=GoBoolOption,
        default=None,
        help="Record the signature in the transparency log before storing it (default: on; --rekor-url's log, "
        "else the local default log). --tlog-upload=false or --no-tlog-upload: do not.",
    )(func)
    return func


def verify_tlog_options(func: F) -> F:
    """``verify``'s transparency-log options: trust (``--rekor-public-key``, ``--trusted-root``; default Sigstore's
    production trusted root), ``--tlog-online`` and ``--insecure-ignore-tlog`` (cosign's names)."""
    func = click.option(
        "--insecure-ignore-tlog",
        cls=GoBoolOption,
        default=False,
        help="Do not require transparency-log evidence (insecure: nothing proves the signature was ever public).",
    )(func)
    func = click.option(
        "--tlog-online",
        is_flag=True,
        help="Also fetch each entry from the log (--rekor-url) and prove its inclusion in the log's current tree.",
    )(func)
    func = _trusted_root_option(func)
    func = _rekor_public_key_option(
        "A trusted log's PEM public key (repeatable). Default: the logs of Sigstore's production trusted root, "
        "and the local default log's key (${XDG_DATA_HOME:-~/.local/share}/supplychain/tlog/log.pub) if it exists.",
        multiple=True)(func)
    return _rekor_url_option("--tlog-url", f"The transparency log --tlog-online asks (also {REKOR_URL_ENV}).")(func)


def certificate_options(func: F) -> F:
    """cosign's certificate-based verification flags (keyless Fulcio certificates and BYO PKI)."""
    for name, text in reversed([
        ("--certificate-identity", "Require this email or URI subject alternative name in the signing certificate."),
        ("--certificate-identity-regexp", "Require a SAN matching this regular expression (unanchored, as cosign)."),
        ("--certificate-oidc-issuer", "Require this OIDC issuer (Fulcio extension 1.3.6.1.4.1.57264.1.8/.1.1)."),
        ("--certificate-oidc-issuer-regexp", "Require an OIDC issuer matching this regular expression."),
    ]):
        func = click.option(name, metavar="TEXT", help=text)(func)
    func = click.option(
        "--ca-intermediates",
        type=_EXISTING_FILE,
        help="PEM intermediate CA certificates (besides the signature's dev.sigstore.cosign/chain).",
    )(func)
    func = click.option(
        "--ca-roots",
        type=_EXISTING_FILE,
        help="PEM root CA certificates the signing certificate must chain to (default: --trusted-root's CAs).",
    )(func)
    return func

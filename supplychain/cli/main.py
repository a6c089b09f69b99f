"""``supplychain``: the root command group and the one error boundary (STYLE.md section 2).

Subcommand modules are imported lazily, so ``supplychain --help`` loads neither httpx nor cryptography.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

import click

from supplychain import __version__
from supplychain.errors import ExitCode, SupplyChainError

# The command line is synchronous from end to end. httpcore imports trio, when it is installed, only to offer trio
# locks to async callers (httpcore/_synchronization.py: "import trio" in a try): ~120 ms of every command that
# talks HTTP. This process is ours, so tell Python that trio is not there; a library user's process is left alone.
sys.modules.setdefault("trio", None)  # type: ignore[arg-type]

# command name -> "module:attribute"; the module is imported only when the command runs or --help lists it.
_COMMANDS: dict[str, str] = {
    "inspect": "supplychain.cli.image:inspect_command",
    "tree": "supplychain.cli.image:tree_command",
    "ls": "supplychain.cli.image:ls_command",
    "copy": "supplychain.cli.image:copy_command",
    "login": "supplychain.cli.auth:login_command",
    "logout": "supplychain.cli.auth:logout_command",
    "version": "supplychain.cli.main:version_command",
    "generate-key-pair": "supplychain.cli.keys:generate_key_pair_command",
    "import-key-pair": "supplychain.cli.keys:import_key_pair_command",
    "public-key": "supplychain.cli.keys:public_key_command",
    "tlog": "supplychain.cli.tlog:tlog_group",
    "sign": "supplychain.cli.sign:sign_command",
    "verify": "supplychain.cli.verify:verify_command",
    "verify-blob": "supplychain.cli.verify:verify_blob_command",
    "verify-blob-attestation": "supplychain.cli.verify:verify_blob_attestation_command",
    "attest": "supplychain.cli.sign:attest_command",
    "attest-blob": "supplychain.cli.sign:attest_blob_command",
    "verify-attestation": "supplychain.cli.verify:verify_attestation_command",
    "attach": "supplychain.cli.attachment:attach_group",
    "download": "supplychain.cli.attachment:download_group",
    "triangulate": "supplychain.cli.attachment:triangulate_command",
    "clean": "supplychain.cli.attachment:clean_command",
    "sign-blob": "supplychain.cli.signblob:sign_blob_command",
    "trusted-root": "supplychain.cli.trust:trusted_root_group",
    "sbom": "supplychain.cli.sbom:sbom_group",
}


class LazyGroup(click.Group):
    """A group whose subcommands live in modules imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help comes from a static table so that --help imports no command module.
        with formatter.section("Commands"):
            formatter.write_dl(sorted(_SHORT_HELP.items()))


_SHORT_HELP = {
    "inspect": "Show an image's digest, media type, platforms, config and labels.",
    "tree": "Show an image's referrers and cosign attachments as a tree.",
    "ls": "List a repository's tags (registry or OCI layout), as skopeo list-tags.",
    "copy": "Copy an image (and its attachments) between registries and OCI layouts.",
    "login": "Save registry credentials to the docker config file.",
    "logout": "Remove saved registry credentials.",
    "version": "Print the version.",
    "generate-key-pair": "Generate a cosign-compatible encrypted key pair.",
    "import-key-pair": "Import a PEM private key into the cosign encrypted key format.",
    "public-key": "Print the public key of a private key file.",
    "tlog": "Run a local transparency log; get, verify and monitor Rekor entries.",
    "sign": "Sign an image (cosign .sig tag or Sigstore bundle referrer).",
    "verify": "Verify image signatures against public keys.",
    "verify-blob": "Verify a file against a Sigstore bundle (key or certificate identity), offline.",
    "verify-blob-attestation": "Verify a file's in-toto attestation bundle of one predicate type, offline.",
    "attest": "Attest an image: an in-toto statement of a predicate, signed in DSSE (bundle or .att).",
    "verify-attestation": "Verify an image's in-toto attestations of one predicate type.",
    "attest-blob": "Attest a file: an in-toto statement of a predicate, signed in DSSE, as a bundle.",
    "attach": "Attach a signature, an SBOM or any artifact to an image (attach signature|sbom|artifact).",
    "download": "Print an image's signatures, attestations or SBOMs; fetch artifacts (download ...).",
    "triangulate": "Print where an image's signatures, attestations, SBOMs or bundles live.",
    "clean": "Remove an image's signatures, attestations, SBOMs and referrers.",
    "sign-blob": "Sign a file into a Sigstore bundle (keyless, or with --key).",
    "trusted-root": "Create a Sigstore trusted root for a private instance (trusted-root create).",
    "sbom": "Software bills of materials: compare two SBOMs (sbom diff).",
}


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="supplychain")
@click.option("--debug", is_flag=True,
              help="Show tracebacks and log each HTTP request, credentials redacted, on stderr (anywhere on the line, "
              "or SUPPLYCHAIN_DEBUG=1).")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Inspect, copy, sign and verify OCI images, in registries or OCI layouts on disk; run and check a
    transparency log.

    Wire-compatible with cosign (keys, signatures, bundles, Rekor) and skopeo (registries, oci: layouts).

    Exit codes: 0 ok, 1 verification failed, 2 usage, 3 invalid input, 4 not found, 5 authentication,
    6 unavailable (network/TLS/registry), 7 integrity, 70 internal error, 130 interrupted, 143 terminated.

    \b
    Examples:
      supplychain generate-key-pair
      supplychain sign --key cosign.key registry.example.com/app:1.0
      supplychain verify --key cosign.pub registry.example.com/app:1.0
      supplychain COMMAND --help
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


@click.command("version")
def version_command() -> None:
    """Print the version.

    \b
    Examples:
      supplychain version
    """
    click.echo(f"supplychain {__version__}")


class Terminated(BaseException):
    """SIGTERM (timeout, CI cancellation, docker stop): unwind like Ctrl-C so temp files are removed."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI; turn every error into one line on stderr and an exit code."""
    args, debug = _debug_flag(sys.argv[1:] if argv is None else argv)
    if not debug:
        from supplychain.cli.statichelp import stored_help

        text = stored_help(args)  # COMMAND... --help: the stored text, without building the command (statichelp)
        if text is not None:
            click.echo(text, nl=False)
            sys.exit(0)
    previous = signal.signal(signal.SIGTERM, _terminate)
    stop_debug_log = _start_debug_log() if debug else None
    try:
        result: Any = cli.main(args=args, prog_name="supplychain", standalone_mode=False)
    except SupplyChainError as exc:
        _report(exc, debug)
        sys.exit(int(exc.exit_code))
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        click.echo(f"hint: {_STOPPED_HINT}", err=True)
        sys.exit(130)
    except click.exceptions.NoArgsIsHelpError as exc:
        exc.show()  # a group run bare: its help, as click prints it (exit 2)
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        _report_usage(exc, debug)
        sys.exit(int(ExitCode.USAGE))
    except click.ClickException as exc:
        _print_error(exc.format_message(), _GENERIC_HINTS[ExitCode.INVALID_INPUT], debug=debug, exc=exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("error: interrupted", err=True)
        click.echo(f"hint: {_STOPPED_HINT}", err=True)
        sys.exit(130)
    except Terminated:
        click.echo("error: terminated", err=True)
        click.echo(f"hint: {_STOPPED_HINT}", err=True)
        sys.exit(128 + signal.SIGTERM)
    except Exception as exc:  # noqa: BLE001 - the one boundary: a bug becomes a message, not a crash dump
        if debug:
            import traceback

            traceback.print_exc()
        click.echo(f"error: internal error: {type(exc).__name__}: {exc}", err=True)
        click.echo("hint: this is a bug in supplychain; rerun with --debug and report it", err=True)
        sys.exit(int(ExitCode.INTERNAL))
    finally:
        signal.signal(signal.SIGTERM, previous)
        if stop_debug_log is not None:
            stop_debug_log()
    sys.exit(result if isinstance(result, int) else 0)


def _debug_flag(args: list[str]) -> tuple[list[str], bool]:
    """``--debug`` anywhere before ``--`` (not only before the command), or ``SUPPLYCHAIN_DEBUG=1``."""
    end = args.index("--") if "--" in args else len(args)
    debug = "--debug" in args[:end] or os.environ.get("SUPPLYCHAIN_DEBUG", "").lower() in {"1", "true", "yes"}
    rest = [a for a in args[:end] if a != "--debug"] + args[end:]
    return (["--debug", *rest] if debug else rest), debug


def _start_debug_log() -> Callable[[], None]:
    """``--debug``: the library's log records on stderr, DEBUG included, one escaped line each. Among them the
    request log (``supplychain.transport.log``: a line per HTTP request and response, credentials redacted
    there), retries and fallbacks. Returns the function that takes the handler away again (``main`` runs more than
    once in one process under tests). Without ``--debug`` nothing is attached: DEBUG records go nowhere, and
    warnings reach stderr through :data:`logging.lastResort` as before."""
    import logging

    from supplychain.report.text import escape

    class StderrHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            try:
                line = f"{record.levelname.lower()}: {escape(' '.join(self.format(record).split()))}"
            except Exception:  # noqa: BLE001 - logging's contract: a broken record is reported, never raised
                self.handleError(record)
                return
            click.echo(line, err=True)  # sys.stderr as it is now, not as it was when the handler was made

    logger = logging.getLogger("supplychain")
    handler = StderrHandler(logging.DEBUG)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)

    def stop() -> None:
        logger.removeHandler(handler)
        logger.setLevel(level)

    return stop


# The hint for an error raised without one (every raise site should give one: tests/unit/cli/test_errors.py).
# After Ctrl-C, SIGTERM or a declined prompt: what was half-written is removed (README, Exit codes).
_STOPPED_HINT = "stopped before the end; temporary files were removed: run the command again to finish"
_GENERIC_HINTS: dict[ExitCode, str] = {
    ExitCode.VERIFICATION_FAILED: "the answer is no: see the lines above for why",
    ExitCode.USAGE: "run 'supplychain --help' for the commands and their options",
    ExitCode.INVALID_INPUT: "check the input named above",
    ExitCode.NOT_FOUND: "check the name, tag or digest, and where it is looked up",
    ExitCode.AUTH: "check your credentials (supplychain login) and that they may access this",
    ExitCode.UNAVAILABLE: "check the address and that the server is up, then retry",
    ExitCode.INTEGRITY: "the data is not what it should be: do not use it; retry, and report it if it persists",
    ExitCode.INTERNAL: "this is a bug in supplychain; rerun with --debug and report it",
}


def _report(exc: SupplyChainError, debug: bool) -> None:
    hint = exc.hint or _GENERIC_HINTS.get(exc.exit_code, _GENERIC_HINTS[ExitCode.INTERNAL])
    _print_error(exc.message, hint, debug=debug, exc=exc)


def _report_usage(exc: click.UsageError, debug: bool) -> None:
    """click's usage errors in the same two lines as every other error (not click's Usage/Try/Error block)."""
    command = exc.ctx.command_path if exc.ctx is not None else "supplychain"
    help_hint = f"run '{command} --help'"
    hint = help_hint
    param = getattr(exc, "param", None)
    if isinstance(exc, click.BadParameter) and isinstance(param, click.Option) and isinstance(
        param.type, click.Path
    ) and "does not exist" in exc.format_message():
        hint = "check the path (relative paths start at the current directory)"
    elif isinstance(exc, click.MissingParameter) and param is not None:
        hint = f"pass {_param_name(param)}; {help_hint} for what it takes"
    elif isinstance(exc, click.NoSuchOption) and exc.possibilities:
        hint = f"did you mean {' or '.join(sorted(exc.possibilities))}? {help_hint} for the options"
    elif isinstance(exc, click.NoSuchOption):
        hint = f"{help_hint} for the options"
    elif exc.ctx is None or (exc.ctx.parent is None and isinstance(exc.ctx.command, click.Group)):
        hint = "run 'supplychain --help' for the commands"
    _print_error(_usage_message(exc), hint, debug=debug, exc=exc)


def _usage_message(exc: click.UsageError) -> str:
    if isinstance(exc, click.NoSuchOption):
        return f"No such option: {exc.option_name}"  # the suggestion goes to the hint line
    return exc.format_message()


def _param_name(param: click.Parameter) -> str:
    if isinstance(param, click.Option):
        return "/".join(param.opts)
    return (param.human_readable_name or param.name or "the argument").upper()


def _print_error(message: str, hint: str, *, debug: bool, exc: BaseException) -> None:
    """The two lines every error ends in: ``error:`` and ``hint:`` on stderr, on one line each, with control and
    bidi characters escaped (a registry's error text reaches here: ``report.text``)."""
    from supplychain.report.text import escape  # standard library only: keeps --help fast

    if debug:
        import traceback  # only --debug prints one: kept out of every start-up

        traceback.print_exception(exc)
    click.echo(f"error: {escape(' '.join(message.split()))}", err=True)  # one line, whatever the source said
    click.echo(f"hint: {escape(' '.join(hint.split()))}", err=True)

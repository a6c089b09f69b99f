"""``inspect``, ``tree`` and ``copy``: thin adapters from options to one library call and a renderer."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from supplychain.cli.options import (
    build_settings,
    concurrency_option,
    echo_lines,
    echo_result,
    output_given,
    output_option,
    parse_platform,
    registry_options,
)
from supplychain.report.format import Format

if TYPE_CHECKING:
    # The command modules are imported to print --help: what only a run needs is imported in the run.
    from supplychain.oci.model import Platform
    from supplychain.report.image import CopyReport

# Every command here takes these two (registry_options); the type of each command's store options, once.
RegistryFlags = tuple[Path | None, tuple[str, ...]]


@click.command("inspect")
@click.argument("reference")
@click.option("--platform", callback=parse_platform, metavar="OS/ARCH[/VARIANT]",
              help="For an index, describe this platform's manifest; for a single image, require this platform.")
@click.option("--raw", is_flag=True,
              help="Print the manifest (or index) bytes as stored, byte for byte, digest-checked (skopeo's --raw).")
@click.option("--config", "config", is_flag=True,
              help="Print the image's config blob as stored, digest-checked; for an index, that of --platform "
              "(default: this machine's platform), as skopeo inspect --config.")
@output_option
@registry_options
@click.pass_context
def inspect_command(
    ctx: click.Context, reference: str, platform: Platform | None, raw: bool, config: bool, output: Format,
    ca_file: Path | None, insecure_registries: tuple[str, ...],
) -> None:
    """Show an image's digest, media type, size, platforms, config and OCI labels.

    REFERENCE is [docker://]registry/name[:tag][@digest] or oci:PATH[:tag|@digest]. Text that the image's
    publisher chose (labels, annotations, artifact types) is printed with control characters escaped
    (\\x1b, \\u202e); -o json prints it exactly.

    \b
    Examples:
      supplychain inspect registry.example.com/app:1.0
      supplychain inspect oci:./layout:v1 --platform linux/arm64 -o json
      supplychain inspect --raw registry.example.com/app@sha256:<hex> | sha256sum
      supplychain inspect --config oci:./layout:v1 | jq .config.Labels
    """
    from supplychain.reference import parse_reference
    from supplychain.store import open_store

    if (raw or config) and output_given(ctx):
        raise click.UsageError("--raw and --config print the stored bytes; -o does not apply to them")
    ref = parse_reference(reference)
    with open_store(ref, build_settings(ca_file, insecure_registries)) as store:
        if raw or config:
            from supplychain.summary import raw_config, raw_manifest

            data = (raw_config if config else raw_manifest)(store, ref.identifier, platform=platform)
        else:
            from supplychain.report.image import SUMMARY
            from supplychain.summary import summarize

            summary = summarize(store, ref.identifier, platform=platform, reference=str(ref))
    if raw or config:
        out = click.get_binary_stream("stdout")
        out.write(data)  # no newline added: the bytes hash to the digest (skopeo inspect --raw | sha256sum)
        out.flush()
        return
    click.echo(SUMMARY.render(summary, output))


@click.command("ls")
@click.argument("repository")
@click.option("--page-size", type=click.IntRange(1, 10_000), metavar="N",
              help="Ask the registry for N tags per page (its Link header pages on); default: the registry's.")
@output_option
@registry_options
def ls_command(
    repository: str, page_size: int | None, output: Format, ca_file: Path | None, insecure_registries: tuple[str, ...],
) -> None:
    """List a repository's tags (a registry's, every Link-paginated page; a layout's), as skopeo list-tags.

    REPOSITORY is [docker://]registry/name or oci:PATH, without a tag or digest. Text output is one tag a line
    (control characters escaped); -o json prints {"Repository": ..., "Tags": [...]}, skopeo list-tags' shape.

    \b
    Examples:
      supplychain ls registry.example.com/app
      supplychain ls oci:./layout -o json | jq -r '.Tags[]'
    """
    from supplychain.reference import parse_reference
    from supplychain.report.image import TAGS, TagList
    from supplychain.store import open_store

    ref = parse_reference(repository)
    # A registry reference without a tag gets "latest": a tag was written only if the text ends in it.
    if ref.digest is not None or (ref.tag is not None and repository.endswith(f":{ref.tag}")):
        raise click.UsageError(f"{repository!r} names a tag or digest; ls lists a repository: give it without one")
    with open_store(ref, build_settings(ca_file, insecure_registries)) as store:
        listing = TagList(store.name, tuple(store.tags(page_size=page_size)))
    echo_result(TAGS.render(listing, output), nl=bool(listing.tags))


@click.command("tree")
@click.argument("reference")
@click.option("--max-depth", type=click.IntRange(1, 64), default=8, show_default=True,
              help="How deep to follow referrers of referrers.")
@click.option("--legacy/--no-legacy", default=True, show_default=True,
              help="Also look for cosign's sha256-<hex>.sig/.att/.sbom tags.")
@concurrency_option(what="Manifests and attachment listings read at once")
@output_option
@registry_options
def tree_command(
    reference: str, max_depth: int, legacy: bool, concurrency: int | None, output: Format, ca_file: Path | None,
    insecure_registries: tuple[str, ...],
) -> None:
    """Show an image's platforms, OCI referrers and cosign attachments as a tree.

    A referrers tag that is not an index is shown as a damaged node, with the command that removes it.

    \b
    Examples:
      supplychain tree registry.example.com/app:1.0
      supplychain tree --no-legacy -o json oci:./layout:v1
    """
    from supplychain.graph import build_tree
    from supplychain.reference import parse_reference
    from supplychain.report.image import TREE, TreeView, tree_warning_lines
    from supplychain.store import open_store

    ref = parse_reference(reference)
    with open_store(ref, build_settings(ca_file, insecure_registries, concurrency=concurrency)) as store:
        root = build_tree(store, store.resolve(ref.identifier), max_depth=max_depth, legacy=legacy)
        name = store.name
    click.echo(TREE.render(TreeView(str(ref), root), output))
    echo_lines(tree_warning_lines(root, name))


@click.command("copy")
@click.argument("source")
@click.argument("destination")
@click.option("--platform", callback=parse_platform, metavar="OS/ARCH[/VARIANT]",
              help="Copy only this platform's manifest of an index (changes the digest); a single image must be "
              "of this platform.")
@click.option("--all-platforms", is_flag=True,
              help="Copy the whole index (the default: the digest, and signatures over it, are kept).")
@click.option("--with-referrers/--without-referrers", default=True, show_default=True,
              help="Copy OCI referrers and cosign .sig/.att/.sbom attachments along, as `cosign copy` does.")
@concurrency_option(what="Blobs moved at once")
@output_option
@registry_options
def copy_command(
    source: str, destination: str, platform: Platform | None, all_platforms: bool, with_referrers: bool,
    concurrency: int | None, output: Format, ca_file: Path | None, insecure_registries: tuple[str, ...],
) -> None:
    """Copy an image between registries and OCI layouts (either way), attachments included.

    SOURCE is [docker://]registry/name[:tag][@digest] or oci:PATH[:tag|@digest]. DESTINATION is
    [docker://]registry/name[:tag] or oci:PATH[:tag] (a tag, not a digest: the copy keeps the source's
    digest). A missing destination layout is created, and removed again if the copy fails; in an existing
    layout a failed copy leaves no blob behind. Up to --concurrency blobs move at once; when one fails, the
    others stop, and no manifest naming them is written.

    Manifests are copied byte for byte, so digests and signatures stay valid: a Docker-typed image (schema 2
    or manifest list) stays Docker-typed in an OCI layout, where skopeo and umoci do not read it (a warning
    says so; `skopeo copy --format oci` converts, changing the digest).

    If the image is copied and an attachment is not, the others are still copied; what was copied is
    printed, then the failure, and the exit status is the failure's.

    \b
    Examples:
      supplychain copy registry.example.com/app:1.0 oci:./layout:v1
      supplychain copy oci:./layout:v1 localhost:5000/app:1.0
      supplychain copy --platform linux/arm64 --without-referrers registry.example.com/app:1.0 oci:./arm64
    """
    from supplychain.report.image import COPY, copy_stderr_lines
    from supplychain.transfer import IncompleteCopyError

    if platform and all_platforms:
        raise click.UsageError("--platform and --all-platforms exclude each other")
    report = _copy(source, destination, platform, with_referrers, concurrency, (ca_file, insecure_registries))
    click.echo(COPY.render(report, output))
    echo_lines(copy_stderr_lines(report))
    if not report.result.complete:
        raise IncompleteCopyError(report.result, report.destination)


def _copy(source: str, destination: str, platform: Platform | None, with_referrers: bool, concurrency: int | None,
          flags: RegistryFlags) -> CopyReport:
    """Open both stores (the destination transactionally: ``store.open_destination``) and copy, ``concurrency``
    (default ``Settings.concurrency``) blobs at once, with progress bars on stderr."""
    from supplychain.cli.progress import TransferProgress
    from supplychain.reference import LayoutReference, parse_reference
    from supplychain.registry import RegistryPool
    from supplychain.report.image import CopyReport
    from supplychain.store import open_destination, open_store
    from supplychain.transfer import copy_image

    # The registry clients' in-flight cap follows: a blob transfer holds one request at a time on each side.
    settings = build_settings(*flags, concurrency=concurrency)
    src_ref = parse_reference(source)
    dst_ref = parse_reference(destination)
    if dst_ref.digest is not None:
        raise click.UsageError("the destination names a digest; give a tag (or nothing): the copy keeps the "
                               "source's digest")
    with (
        RegistryPool(settings) as registries,  # source and destination on one registry: one client
        open_store(src_ref, settings, registries=registries) as src,
        open_destination(dst_ref, settings, registries=registries) as dst,
        TransferProgress() as progress,
    ):
        result = copy_image(src, src_ref.identifier, dst, tag=dst_ref.tag, platform=platform,
                            with_referrers=with_referrers, progress=progress, concurrency=settings.concurrency)
    return CopyReport(dst_ref.name, dst_ref.tag, result, into_layout=isinstance(dst_ref, LayoutReference))

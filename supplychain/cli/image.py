"""``inspect``, ``tree`` and ``copy``: thin adapters from options to one library call and a renderer."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import click

from supplychain.cli.options import build_settings, output_option, registry_options
from supplychain.cli.progress import TransferProgress
from supplychain.oci.model import Platform
from supplychain.reference import parse_reference


@click.command("inspect")
@click.argument("reference")
@click.option("--platform", help="For an index, describe this platform's manifest (os/arch[/variant]).")
@output_option
@registry_options
def inspect_command(
    reference: str, platform: str | None, output: str, ca_file: Path | None, insecure_registries: tuple[str, ...]
) -> None:
    """Show an image's digest, media type, size, platforms, config and OCI labels.

    REFERENCE is registry/name[:tag][@digest] or oci:PATH[:tag|@digest].
    """
    from supplychain.report.image import render_summary_text, summary_json, to_json
    from supplychain.store import open_store
    from supplychain.summary import summarize

    ref = parse_reference(reference)
    wanted = Platform.parse(platform) if platform else None
    with closing(open_store(ref, build_settings(ca_file, insecure_registries))) as store:
        summary = summarize(store, ref.identifier, platform=wanted, reference=str(ref))
    click.echo(to_json(summary_json(summary)) if output == "json" else render_summary_text(summary))


@click.command("tree")
@click.argument("reference")
@click.option("--max-depth", type=click.IntRange(1, 64), default=8, show_default=True,
              help="How deep to follow referrers of referrers.")
@click.option("--legacy/--no-legacy", default=True, show_default=True,
              help="Also look for cosign's sha256-<hex>.sig/.att/.sbom tags.")
@output_option
@registry_options
def tree_command(
    reference: str, max_depth: int, legacy: bool, output: str, ca_file: Path | None,
    insecure_registries: tuple[str, ...],
) -> None:
    """Show an image's platforms, OCI referrers and cosign attachments as a tree."""
    from supplychain.graph import build_tree
    from supplychain.report.image import render_tree_text, to_json, tree_json
    from supplychain.store import open_store

    ref = parse_reference(reference)
    with closing(open_store(ref, build_settings(ca_file, insecure_registries))) as store:
        root = build_tree(store, store.resolve(ref.identifier), max_depth=max_depth, legacy=legacy)
    click.echo(to_json(tree_json(root)) if output == "json" else render_tree_text(str(ref), root))


@click.command("copy")
@click.argument("source")
@click.argument("destination")
@click.option("--platform", help="Copy only this platform's manifest of an index (changes the digest).")
@click.option("--all-platforms", is_flag=True,
              help="Copy the whole index (the default: the digest, and signatures over it, are kept).")
@click.option("--with-referrers/--without-referrers", default=True, show_default=True,
              help="Copy OCI referrers and cosign .sig/.att/.sbom attachments along, as `cosign copy` does.")
@output_option
@registry_options
def copy_command(
    source: str, destination: str, platform: str | None, all_platforms: bool, with_referrers: bool, output: str,
    ca_file: Path | None, insecure_registries: tuple[str, ...],
) -> None:
    """Copy an image between registries and OCI layouts (either way), attachments included.

    SOURCE and DESTINATION are registry/name[:tag][@digest] or oci:PATH[:tag]. A missing destination
    layout directory is created.
    """
    from supplychain.report.image import copy_json, to_json
    from supplychain.store import open_store
    from supplychain.transfer import copy_image

    if platform and all_platforms:
        raise click.UsageError("--platform and --all-platforms exclude each other")
    settings = build_settings(ca_file, insecure_registries)
    wanted = Platform.parse(platform) if platform else None
    src_ref = parse_reference(source)
    dst_ref = parse_reference(destination)
    if dst_ref.digest is not None and dst_ref.tag is None:
        raise click.UsageError("the destination names a digest; give a tag (or nothing) instead")
    with (
        closing(open_store(src_ref, settings)) as src,
        closing(open_store(dst_ref, settings, create=True)) as dst,
        TransferProgress() as progress,
    ):
        result = copy_image(
            src, src_ref.identifier, dst, tag=dst_ref.tag,
            platform=wanted,
            with_referrers=with_referrers, on_progress=progress.update,
        )
    if output == "json":
        click.echo(to_json(copy_json(result)))
    else:
        click.echo(f"{dst_ref.name}:{dst_ref.tag or ''}@{result.digest}".replace(":@", "@"))
    click.echo(
        f"copied {result.manifests} manifests, {result.blobs_copied} blobs ({result.bytes_copied} bytes), "
        f"skipped {result.blobs_skipped} present; {len(result.attachments)} attachments",
        err=True,
    )

"""The catalogers' real artefacts (Go, Rust, Java, rpm), built once per session (tests.support.sbom_builds)."""

from tests.support.sbom_builds import go_root, java_root, rpm_root, rust_root

__all__ = ["go_root", "java_root", "rpm_root", "rust_root"]

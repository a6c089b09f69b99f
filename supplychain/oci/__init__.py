"""OCI data model: media types, descriptors, manifests and indexes that keep their raw bytes, and the
``ArtifactStore`` protocol every store (registry repository, on-disk layout) implements."""

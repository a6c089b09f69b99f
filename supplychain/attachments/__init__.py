"""What is attached to one image digest, and what to do with it: ``download`` (``download signature``),
``triangulate`` and ``clean``, cosign's commands of those names.

Store-agnostic (STYLE.md section 1): every function receives an ``ArtifactStore`` and a digest resolved once by
the caller, and finds attachments with the one locator, ``oci.locate``. ``COSIGN_REPOSITORY`` (attachments kept
in another repository) is not supported, as in ``sign``/``verify``: attachments are looked for in the image's own
repository.
"""

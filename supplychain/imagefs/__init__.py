"""An image's filesystem read from its layer streams without unpacking them (issue 12, item 2; row 6, beside
``registry`` and ``layout``: it stands on ``oci`` models and is store-agnostic, receiving a way to open each layer).

- ``view``: the result, a ``FileView``: an index of every path the image's layers leave (the squashed view a
  container sees, or one layer's own), each ``FileEntry`` with the layer that last wrote it and every layer that
  wrote it (``history``: tern's per-layer attribution), and the bytes of only the files a reader asked for.

The walker (layers decompressed once as streams, whiteouts and opaque directories applied, hostile tars refused,
memory bounded whatever the layer size) and the image sources are built on that contract.
"""

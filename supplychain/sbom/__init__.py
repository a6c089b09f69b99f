"""Software bills of materials for images (issue 12; row 6½, store-agnostic): what is installed in an image, found
by catalogers reading its filesystem (``imagefs.FileView``), written as CycloneDX or SPDX.

- ``package``: the values: ``Package`` (name, version, purl, licences, where its metadata is, the layer that last
  added it), ``Distro`` (``etc/os-release``), ``ImageInfo`` (what was scanned), ``Inventory`` (all of it, sorted);
- ``catalog``: the one ``Cataloger`` interface every cataloger implements (pip-audit's ``DependencySource`` is
  the model): ``wants`` a path from its tar header, then ``catalog`` the view into packages and problems.
"""

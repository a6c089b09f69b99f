"""The local transparency log: a Rekor v1-compatible log in one directory (issue 4, item 4).

* ``directory``: ``tlog init`` (the log's signing key, 0600, and its configuration) and opening a log directory;
* ``storage``: the SQLite store (WAL, ``synchronous=FULL``): entries, their SETs and the search index;
* ``log``: ``LocalLog``, the append path with group commit, the in-memory Merkle tree rebuilt at start, signed
  checkpoints, inclusion and consistency proofs;
* ``http``: the Rekor v1 REST API subset, as routes of the generic ``supplychain.httpserver``; ``serve``, which
  closes the log cleanly when the server stops.

Import the submodules; this package stays empty so that importing it costs nothing.
"""

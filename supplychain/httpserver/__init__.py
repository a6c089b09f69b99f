"""A small hardened HTTP/1.1 JSON server for the services supplychain runs (the local log's Rekor API today, the
admission webhook later). It knows nothing about what it serves: the caller registers routes.

* ``route``: what a service writes: ``Router`` ((method, path or pattern) to a handler), the ``Request`` a handler
  reads (its body capped, chunked or not; JSON through ``formats.strictjson``), the ``Response`` it returns (or a
  ``Deferred`` one, made once another thread's work is done), and
  ``HttpError``, an error answer ``{"code": <status>, "message": "..."}``;
* ``server``: ``HttpServer``, the server on one event loop thread (bounded connection slots, 503 beyond them,
  idle timeouts, JSON error answers for every status and for bugs, one log line per request), ``bind_server``
  (bind errors as one-line ``SupplyChainError``\\ s with hints), ``serve_until`` and ``stop_on_signals`` (a clean
  stop on SIGTERM/SIGINT).

Import the submodules; this package stays empty so that importing it costs nothing.
"""

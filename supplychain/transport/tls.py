"""TLS contexts: the system CA store, ``--ca-file`` and docker's ``certs.d/<host:port>/`` directory (``*.crt`` CAs,
``client.cert`` + ``client.key``); verification off only for hosts on the insecure list (the caller decides,
``hosts.is_insecure``)."""

from __future__ import annotations

import ssl
import threading
from pathlib import Path

from supplychain.config import Settings
from supplychain.errors import ConfigurationError

# Loading the system CA store costs ~18 ms of CPU per context; verifying a hundred images concurrently builds
# a hundred clients. Contexts are shared (an SSLContext is safe to use from many connections and threads) and
# keyed by everything they are built from, file stamps included, so an edited CA file is picked up.
_CONTEXTS: dict[tuple[object, ...], ssl.SSLContext] = {}
_CONTEXTS_LOCK = threading.Lock()


def ssl_context(settings: Settings, host: str, *, insecure: bool) -> ssl.SSLContext:
    """The TLS context for ``host``: system CAs + ``settings.ca_file`` + ``certs_dir/<host>/*.crt``, and a
    client certificate from ``certs_dir/<host>/*.cert`` with its ``.key`` (docker's certs.d layout)."""
    key = _context_key(settings, host, insecure)
    with _CONTEXTS_LOCK:
        context = _CONTEXTS.get(key)
        if context is None:
            context = _new_ssl_context(settings, host, insecure=insecure)
            if len(_CONTEXTS) >= 64:
                _CONTEXTS.clear()
            _CONTEXTS[key] = context
        return context


def _context_key(settings: Settings, host: str, insecure: bool) -> tuple[object, ...]:
    files: list[Path] = [settings.ca_file] if settings.ca_file is not None else []
    host_dir = settings.certs_dir / host
    if host_dir.is_dir():
        files.extend(sorted(host_dir.iterdir()))
    stamps: list[tuple[str, tuple[int, int, int] | None]] = []
    for path in files:
        try:
            stat = path.stat()
        except OSError:
            stamps.append((str(path), None))
            continue
        stamps.append((str(path), (stat.st_mtime_ns, stat.st_size, stat.st_ino)))
    return (host, insecure, str(settings.certs_dir), tuple(stamps))


def _new_ssl_context(settings: Settings, host: str, *, insecure: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if insecure:
        # The user asked for it by listing the host; the client certificate still goes out below.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if settings.ca_file is not None:
        _load_cas(context, settings.ca_file, "--ca-file")
    host_dir = settings.certs_dir / host
    if host_dir.is_dir():
        for ca in sorted(host_dir.glob("*.crt")):
            _load_cas(context, ca, "certs.d")
        for cert in sorted(host_dir.glob("*.cert")):
            key = cert.with_suffix(".key")
            if not key.is_file():
                raise ConfigurationError(
                    f"client certificate {cert} has no matching key {key.name}",
                    hint=f"put the private key of {cert.name} next to it as {key.name}",
                )
            try:
                context.load_cert_chain(cert, key)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigurationError(
                    f"cannot load client certificate {cert}: {exc}",
                    hint="client.cert must be a PEM certificate and client.key its unencrypted PEM key",
                ) from exc
    return context


def _load_cas(context: ssl.SSLContext, path: Path, origin: str) -> None:
    try:
        context.load_verify_locations(cafile=str(path))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f"cannot load CA certificates from {path} ({origin}): {exc}",
            hint="give a readable PEM file of CA certificates",
        ) from exc


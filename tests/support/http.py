"""Raw HTTP/1.1 on a real socket, for tests of what a server answers to requests no HTTP client would send
(malformed request lines, broken chunked bodies, connections held open)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any


def raw_request(url: str, request: bytes, *, timeout: float = 10) -> bytes:
    """Send raw bytes on a fresh connection; return everything the server sends until it closes or goes quiet."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
                if b"\r\n\r\n" in received and _complete(received):
                    break
        except TimeoutError:
            pass
        return received


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return True


def json_answer(answer: bytes) -> tuple[int, dict[str, str], Any]:
    """Status, headers (lower-case names) and JSON body of a raw answer; asserts it is JSON."""
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    assert headers["content-type"] == "application/json", answer
    return int(status_line.split()[1]), headers, json.loads(body)


def chunked(payload: bytes, size: int = 1000) -> Iterator[bytes]:
    """Content httpx sends with Transfer-Encoding: chunked (an iterator has no length)."""
    for start in range(0, len(payload), size):
        yield payload[start : start + size]

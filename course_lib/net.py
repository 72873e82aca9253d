"""The network, asked politely: one reachability probe and one checksummed download.

Every part of the course that might touch the network (data loaders, the doctor, the visdom
logger) asks :func:`reachable` first, which answers within ``CONNECT_TIMEOUT`` seconds, so a
machine without internet falls back to offline data at once instead of hanging.
"""

from __future__ import annotations

import hashlib
import shutil
import socket
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

__all__ = ["CONNECT_TIMEOUT", "DOWNLOAD_TIMEOUT", "reachable", "file_digest", "download"]

CONNECT_TIMEOUT = 2.0
"""Seconds to wait for a TCP connect before calling a host unreachable."""
DOWNLOAD_TIMEOUT = 20.0
"""Socket timeout during a download: a stalled transfer fails instead of hanging."""


def reachable(address: str, port: int | None = None, timeout: float | None = None) -> bool:
    """Return whether a TCP connection to ``address`` opens within ``timeout`` seconds.

    ``address`` is a URL (its scheme gives the default port) or a bare host name with ``port``.
    """
    if "://" in address:
        parts = urlparse(address)
        host = parts.hostname or ""
        port = port or parts.port or (443 if parts.scheme == "https" else 80)
    else:
        host, port = address, port or 443
    try:
        with socket.create_connection((host, port), timeout=timeout or CONNECT_TIMEOUT):
            return True
    except OSError:
        return False


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Return the hex digest of a file's bytes (``algorithm``: any name hashlib knows)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, algorithm).hexdigest()


def download(
    url: str, dest: str | Path, *, sha256: str | None = None, md5: str | None = None
) -> Path:
    """Download ``url`` to ``dest`` through a temporary file; verify a published checksum.

    A transfer that stalls for ``DOWNLOAD_TIMEOUT`` seconds fails; a checksum mismatch deletes the
    file and raises ``ValueError``. Returns ``dest``.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    with (
        urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response,
        open(partial, "wb") as f,
    ):
        shutil.copyfileobj(response, f, length=1 << 20)
    for algorithm, expected in (("sha256", sha256), ("md5", md5)):
        if expected and not file_digest(partial, algorithm).startswith(expected):
            partial.unlink()
            raise ValueError(f"{url}: {algorithm} checksum mismatch (expected {expected})")
    partial.replace(dest)
    return dest

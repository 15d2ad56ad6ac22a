"""The archive's private keys: random bytes made once under ``<data-dir>/private/``, never served.

One mechanism for every key (the de-identification secret, the OAuth ID-token signing
key): a key is created on first use, readable only by the archive's owner (0600 in a 0700
folder), and published *atomically* — written and fsynced under a temporary name, then
hard-linked to its final name, which fails if another process got there first. So two
server workers starting together agree on one key, and no reader ever sees a file that
is still being written (an empty or short key would silently weaken every signature).
Keys are never logged; keep them with the archive's backups.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path

from ria.errors import ConfigurationError

__all__ = ["KEY_BYTES", "load_key"]

KEY_BYTES = 32
"""256 random bits: the HMAC-SHA-256 key size RFC 7518 §3.2 asks for, and plenty for a keyed hash."""


def _publish(private_dir: Path, path: Path, size: int) -> None:
    """Create ``path`` holding ``size`` fresh random bytes, unless it appears meanwhile."""
    private_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=private_dir)  # mode 0600
    try:
        try:
            os.write(descriptor, secrets.token_bytes(size))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        # If another process published first, everyone uses its key.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


def load_key(private_dir: Path, name: str, *, purpose: str, size: int = KEY_BYTES) -> bytes:
    """The key kept in ``private_dir / name``, created (mode 0600) on first use.

    ``purpose`` only words the error raised when the file exists but is not a key of the
    expected size (truncated by a bad restore, say): failing loudly beats using it.
    """
    path = private_dir / name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        _publish(private_dir, path, size)
        data = path.read_bytes()
    if len(data) != size:
        raise ConfigurationError(f"{path} is not a {size}-byte {purpose}")
    return data

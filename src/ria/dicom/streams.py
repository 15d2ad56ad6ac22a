"""Handing blob-store readers to pydicom."""

from __future__ import annotations

from typing import BinaryIO

__all__ = ["PlainStream"]


class PlainStream:
    """A reader shown to pydicom as a plain stream, never as a named file.

    pydicom treats any ``io.BufferedReader`` as an open file and takes its
    ``name`` (to reopen it for deferred values); pack-store readers are buffered
    windows onto a larger pack file with no name of their own, so pydicom must
    only ever read, seek and tell through them.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()

"""Downloads: ZIP archives streamed as they are sent, and single byte ranges for resuming.

Both halves are pure byte plumbing with no knowledge of the catalogue or the
HTTP framework, so the TCIA routes, Ria's own API and the CLI can share them
and they can be tested against real readers (``zipfile``, ``unzip``) alone.
"""

from __future__ import annotations

from ria.download.byteranges import ByteRange, content_range, parse_range
from ria.download.zipstream import (
    DEFAULT_CHUNK_SIZE,
    MD5_MANIFEST_NAME,
    Chunk,
    Md5Manifest,
    ZipMember,
    iter_zip,
    validate_member_name,
)

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MD5_MANIFEST_NAME",
    "ByteRange",
    "Chunk",
    "Md5Manifest",
    "ZipMember",
    "content_range",
    "iter_zip",
    "parse_range",
    "validate_member_name",
]

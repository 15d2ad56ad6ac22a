"""Dependencies routes share: the Archive lives on ``app.state``, set once by :func:`create_app`."""

from __future__ import annotations

from fastapi import Request

from ria.archive import Archive

__all__ = ["get_archive"]


def get_archive(request: Request) -> Archive:
    archive = request.app.state.archive
    assert isinstance(archive, Archive)
    return archive

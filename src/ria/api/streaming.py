"""Streamed list responses: the body written as the catalogue's cursor yields rows.

Every list route renders through here (TCIA's JSON/CSV/XML/HTML, QIDO-RS, cohorts,
manifests), so a response matching the whole catalogue costs the server a few hundred KB
instead of several copies of the result. Three rules the routes rely on:

* :func:`peek` takes the first row *in the route*, before any byte is sent: a query that
  fails still becomes a proper 4xx/5xx JSON error, and an empty result can still be
  answered differently (TCIA: HTTP 200 with an empty body).
* Text is gathered into chunks of about :data:`CHUNK` bytes, so the worker-thread hop
  per ``next()`` is paid once per chunk, not once per row.
* :class:`ChunkStream` closes its source however the response ends — finished, failed, or
  cancelled because the client disconnected midway — which returns the database connection
  behind it to the pool at once rather than whenever the garbage collector gets to it.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from typing import TypeVar

import anyio
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

__all__ = ["CHUNK", "ChunkStream", "chunked", "close", "peek", "stream_text"]

CHUNK = 64 * 1024
T = TypeVar("T")


def close(source: Iterable[object]) -> None:
    """Close ``source`` if it can be (a generator holding a database cursor)."""
    closer = getattr(source, "close", None)
    if callable(closer):
        closer()


def peek(source: Iterator[T]) -> tuple[T | None, Iterator[T]]:
    """The first item of ``source`` (``None`` if there is none) and an iterator over all of them.

    Runs the query behind ``source`` now, in the caller's thread; on an error or an empty
    result ``source`` is closed before this returns or raises.
    """
    try:
        first = next(source, None)
    except BaseException:
        close(source)
        raise
    if first is None:
        close(source)
        return None, iter(())
    return first, itertools.chain((first,), source)


def chunked(pieces: Iterable[str], size: int = CHUNK) -> Iterator[bytes]:
    """``pieces`` of text, UTF-8 encoded and gathered into chunks of about ``size`` bytes."""
    batch: list[str] = []
    length = 0
    for piece in pieces:
        batch.append(piece)
        length += len(piece)
        if length >= size:
            yield "".join(batch).encode("utf-8")
            batch, length = [], 0
    if batch:
        yield "".join(batch).encode("utf-8")


class ChunkStream(StreamingResponse):
    """A response whose body is ``chunks``, pulled in a worker thread; ``source`` (the iterator
    holding the cursor that feeds them) is closed when the response ends, however it ends."""

    def __init__(
        self,
        chunks: Iterator[bytes],
        *,
        source: Iterable[object],
        media_type: str,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._chunks = chunks
        self._source = source
        super().__init__(self._pull(), status_code=status_code, headers=headers, media_type=media_type)

    async def _pull(self) -> AsyncIterator[bytes]:
        while True:
            chunk = await anyio.to_thread.run_sync(next, self._chunks, None)
            if chunk is None:
                return
            yield chunk

    def _close(self) -> None:
        close(self._chunks)
        close(self._source)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Shielded: a disconnect cancels the response, and the connection must still go back.
            # run_sync waits for a next() already running in a thread, so close() never races it.
            with anyio.CancelScope(shield=True):
                body = self.body_iterator
                if isinstance(body, AsyncIterator) and hasattr(body, "aclose"):
                    await body.aclose()
                await anyio.to_thread.run_sync(self._close)


def stream_text(
    rows: Iterator[T],
    render: Callable[[Iterator[T]], Iterable[str]],
    *,
    media_type: str,
    headers: Mapping[str, str] | None = None,
) -> ChunkStream:
    """``render(rows)`` streamed in chunks, for bodies that are written the same whether or not
    there are rows (a CSV header, a JSON envelope, a manifest's preamble).

    The first row is read first, here, so the query behind ``rows`` fails before any byte is
    sent; ``rows`` is closed when the response ends.
    """
    _, every = peek(rows)
    return ChunkStream(chunked(render(every)), source=rows, media_type=media_type, headers=headers)

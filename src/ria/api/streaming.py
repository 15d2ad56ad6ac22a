"""Streamed list responses: the body written as the catalogue's cursor yields rows.

Every list route renders through here (TCIA's JSON/CSV/XML/HTML, QIDO-RS, cohorts,
manifests), so a response matching the whole catalogue costs the server a few hundred KB
instead of several copies of the result. Three rules the routes rely on:

* :func:`peek` takes the first row *in the route*, before any byte is sent: a query that
  fails still becomes a proper 4xx/5xx JSON error, and an empty result can still be
  answered differently (TCIA: HTTP 200 with an empty body).
* Text is gathered into chunks of about :data:`CHUNK` bytes, so the worker-thread hop
  per ``next()`` is paid once per chunk, not once per row.
* :class:`ChunkStream` drains its source into a spool file at the database's pace, not the
  client's, and closes it as soon as it is drained, failed, or the client disconnected: the
  connection behind it goes back to the pool after the query, however slowly the body is read.
  Otherwise a few clients that read slowly (or not at all) would hold every pooled connection
  and every other request would wait for one and fail. The spool is an unlinked temporary
  file, so memory stays at one chunk; disk holds the bodies still being sent.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import threading
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


class _Spool:
    """Chunks written by one producer thread to an unlinked temporary file, read back as they land.

    The producer runs at the speed of the database and the renderer; the reader at the
    client's. Reads use ``os.pread`` at their own offset, so they never disturb the writer.
    """

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by ChunkStream once the producer ends
        self._written = 0
        self._done = False
        self._error: BaseException | None = None
        self._changed = threading.Condition()
        self.cancelled = threading.Event()

    def fill(self, chunks: Iterator[bytes], release: Callable[[], None]) -> None:
        """Write ``chunks`` until they run out, fail or the reader is gone; then ``release`` them."""
        try:
            for chunk in chunks:
                if self.cancelled.is_set():
                    break
                self._file.write(chunk)
                self._file.flush()
                with self._changed:
                    self._written += len(chunk)
                    self._changed.notify_all()
        except BaseException as exc:  # handed to the reader: the response fails as it would have
            self._error = exc
        finally:
            try:
                release()
            finally:
                with self._changed:
                    self._done = True
                    self._changed.notify_all()

    def read(self, offset: int) -> bytes | None:
        """The bytes after ``offset`` once there are some (at most :data:`CHUNK`); ``None`` at the end."""
        with self._changed:
            while self._written <= offset and not self._done:
                self._changed.wait()
            written = self._written
        if offset < written:
            return os.pread(self._file.fileno(), min(CHUNK, written - offset), offset)
        if self._error is not None:
            raise self._error
        return None

    def close(self) -> None:
        self._file.close()


class ChunkStream(StreamingResponse):
    """A response whose body is ``chunks``, spooled by a producer thread and sent as it lands;
    ``source`` (the iterator holding the cursor that feeds them) is closed as soon as the
    chunks are drained, have failed, or the client has gone."""

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
        self._spool: _Spool | None = None  # made when the response is sent, so an unsent one holds no file
        super().__init__(self._pull(), status_code=status_code, headers=headers, media_type=media_type)

    async def _pull(self) -> AsyncIterator[bytes]:
        assert self._spool is not None, "the spool is made before the body is pulled"
        offset = 0
        while True:
            chunk = await anyio.to_thread.run_sync(self._spool.read, offset)
            if chunk is None:
                return
            offset += len(chunk)
            yield chunk

    def _release(self) -> None:
        """Close chunks and source in the producer's own thread (a generator cannot be closed
        from another thread while it runs), which returns the database connection."""
        close(self._chunks)
        close(self._source)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        spool = self._spool = _Spool()
        producer = threading.Thread(
            target=spool.fill, args=(self._chunks, self._release), name="ria-list-spool", daemon=True
        )
        producer.start()
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Shielded: a disconnect cancels the response, and the producer must still stop and
            # release the connection before the spool goes.
            with anyio.CancelScope(shield=True):
                spool.cancelled.set()
                body = self.body_iterator
                if isinstance(body, AsyncIterator) and hasattr(body, "aclose"):
                    await body.aclose()
                await anyio.to_thread.run_sync(producer.join)
                spool.close()


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

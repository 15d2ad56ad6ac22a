"""Socket settings for the node's associations, both the ones it accepts and the ones it opens."""

from __future__ import annotations

import contextlib
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pynetdicom.events import Event

__all__ = ["set_nodelay"]


def set_nodelay(event: Event) -> None:
    """TCP_NODELAY on an association's socket (bound to EVT_REQUESTED and EVT_CONN_OPEN).

    A DIMSE exchange is a small request answered by a small response: with Nagle's
    algorithm on, each waits for the peer's delayed ACK, about 40 ms per C-STORE.
    """
    sock = getattr(getattr(event.assoc.dul, "socket", None), "socket", None)
    if sock is not None:
        with contextlib.suppress(OSError):  # a socket the peer already closed
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

"""Is a listening port free? Asked before a command does any work that a busy port would waste.

``ria demo`` builds its archive (tens of seconds) and only then starts the server; with the
port already taken (a demo still running) it used to announce "Ria is serving … at http://…"
and then die with uvicorn's ``address already in use`` and exit code 3. A test bind first
turns that into one line and exit 1 before anything is done.
"""

from __future__ import annotations

import contextlib
import socket

from ria.errors import PortUnavailableError

__all__ = ["require_free_port"]


def require_free_port(host: str, port: int, what: str, option: str) -> None:
    """Raise :class:`PortUnavailableError` unless ``host:port`` can be bound now (``option`` sets it).

    The test socket is set up like uvicorn's and pynetdicom's (``SO_REUSEADDR``), so a port
    left in TIME_WAIT by a previous run counts as free, as it is for them; a listener on it
    does not. A race with another process binding it afterwards remains possible, and the
    servers' own bind failures are reported alike (see :func:`ria.cli.main._serve`).
    """
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise PortUnavailableError(f"cannot listen for {what} on {shown}: {exc.strerror or exc}") from None
    family, kind, proto, _, address = infos[0]
    with contextlib.closing(socket.socket(family, kind, proto)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            hint = f"stop what is using it (a Ria still running?) or choose another port with {option}"
            reason = exc.strerror or str(exc)
            raise PortUnavailableError(f"cannot listen for {what} on {shown}: {reason}; {hint}") from None

"""Where a request came from and the URL it reached: the one place links and local trust are decided.

Links in answers (RetrieveURL, BulkDataURI, manifests' download URLs, the token issuer) must reach
the server from the client's side. Starlette's ``request.base_url`` is built from the ``Host``
header alone, and clients such as dicomweb-client send ``Host: 127.0.0.1`` without the port, so
links pointed at port 80. Behind a reverse proxy the address the client used is in ``Forwarded``
(RFC 7239) or ``X-Forwarded-*`` — but those headers are only as trustworthy as whoever set them, so
they are read only from the proxies the operator lists (``Settings.trusted_proxies``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from starlette.requests import Request

from ria.settings import Settings

__all__ = ["is_forwarded", "may_curate_locally", "peer_address", "public_base_url"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_PAIR = re.compile(r'\s*([A-Za-z0-9!#$%&\'*+.^_`|~-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;,\s]*)\s*')
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::([0-9]{1,5}))?$")


@dataclass(frozen=True)
class _Hop:
    """One element of ``Forwarded``: what one proxy saw of the request it received."""

    for_: str | None = None
    host: str | None = None
    proto: str | None = None


def _settings(request: Request) -> Settings:
    settings = request.app.state.archive.settings
    assert isinstance(settings, Settings)
    return settings


def peer_address(request: Request) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address of the socket's other end (the client, or the proxy in front of us)."""
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_forwarded(request: Request) -> bool:
    """Whether a proxy says it passed this request on (whoever the proxy is)."""
    return any(request.headers.get(name) for name in ("forwarded", "x-forwarded-for", "x-forwarded-host"))


def _trusted(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address | None, settings: Settings) -> bool:
    if address is None or not settings.trusted_proxies:
        return False
    try:
        ip = ipaddress.ip_address(address.strip('[]"') if isinstance(address, str) else address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net) for net in settings.trusted_proxies)


def may_curate_locally(request: Request) -> bool:
    """A request without a token from this machine may curate — only where the operator said so.

    Whoever can reach loopback can usually reach the data folder too (the CLI's operator), but a
    reverse proxy on the same host makes every remote client look local; so it is a setting, and a
    request that says it was forwarded never qualifies.
    """
    if not _settings(request).local_curators or is_forwarded(request):
        return False
    peer = peer_address(request)
    return peer is not None and peer.is_loopback


def _parse_forwarded(header: str) -> list[_Hop]:
    hops = []
    for element in _split_outside_quotes(header):
        pairs: dict[str, str] = {}
        for part in _split_outside_quotes(element, ";"):
            match = _PAIR.fullmatch(part)
            if match:
                value = match.group(2)
                if value.startswith('"'):
                    value = re.sub(r"\\(.)", r"\1", value[1:-1])
                pairs[match.group(1).lower()] = value
        hops.append(_Hop(pairs.get("for"), pairs.get("host"), pairs.get("proto")))
    return hops


def _split_outside_quotes(text: str, separator: str = ",") -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]


def _forwarded_origin(request: Request, settings: Settings) -> tuple[str | None, str | None, str]:
    """(proto, host, prefix) the client used, as a trusted proxy reports it; ``None`` where it does not."""
    header = request.headers.get("forwarded")
    if header:
        hops = _parse_forwarded(header)
        # Walk back from the hop our peer added while its client is itself a trusted proxy.
        index = len(hops) - 1
        while index > 0 and _trusted(_for_address(hops[index].for_), settings):
            index -= 1
        hop = hops[index] if hops else _Hop()
        return hop.proto, hop.host, ""
    proto = _last(request.headers.get("x-forwarded-proto"))
    host = _last(request.headers.get("x-forwarded-host"))
    port = _last(request.headers.get("x-forwarded-port"))
    bare = _HOST.match(host) if host else None
    if host and port and bare is not None and bare.group(2) is None:
        host = f"{host}:{port}"
    prefix = (_last(request.headers.get("x-forwarded-prefix")) or "").rstrip("/")
    return proto, host, prefix if prefix.startswith("/") else ""


def _for_address(value: str | None) -> str | None:
    """The address part of a ``for=`` value: ``"[2001:db8::1]:4711"`` → ``2001:db8::1``."""
    if value is None:
        return None
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else None
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _last(value: str | None) -> str | None:
    """The value the nearest proxy appended to a comma-separated ``X-Forwarded-*`` list."""
    if not value:
        return None
    items = [item.strip() for item in value.split(",") if item.strip()]
    return items[-1] if items else None


def public_base_url(request: Request) -> str:
    """The URL the client reached the server's root at, without a trailing slash.

    In order: the operator's ``public_url``; what a trusted proxy reports; else the request's own
    scheme and ``Host``, with the port the server listens on when the ``Host`` header names none.
    """
    settings = _settings(request)
    if settings.public_url:
        return settings.public_url
    root_path = str(request.scope.get("root_path", "")).rstrip("/")
    if _trusted(peer_address(request), settings) and is_forwarded(request):
        proto, host, prefix = _forwarded_origin(request, settings)
        scheme = proto.lower() if proto and proto.lower() in _DEFAULT_PORTS else request.url.scheme
        match = _HOST.match((host or "").strip())
        if match:  # the proxy's own port is not the client's: without one, the scheme's default
            port = int(match.group(2)) if match.group(2) else None
            return f"{scheme}://{_authority(match.group(1), port, scheme)}{prefix}{root_path}"
    scheme = request.url.scheme
    server = request.scope.get("server") or ("127.0.0.1", _DEFAULT_PORTS.get(scheme, 80))
    match = _HOST.match(request.headers.get("host", "").strip())
    if match is None:
        name, port = _bracketed(str(server[0])), server[1]
    else:
        name, port = match.group(1), int(match.group(2)) if match.group(2) else server[1]
    return f"{scheme}://{_authority(name, port, scheme)}{root_path}"


def _authority(name: str, port: int | None, scheme: str) -> str:
    return name if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{name}:{port}"


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host

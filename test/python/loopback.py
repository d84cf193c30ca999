"""`{vault}.vault.localhost` is loopback (RFC 6761); the system resolver here
does not know it, so resolve `localhost` names as coffer's own tools do.
Imported for its effect, before any client module connects."""
import socket

_getaddrinfo = socket.getaddrinfo


def _loopback_getaddrinfo(host, *args, **kwargs):
    if isinstance(host, str) and (host == "localhost" or host.endswith(".localhost")):
        host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _loopback_getaddrinfo

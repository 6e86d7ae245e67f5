"""Who may use the API without a key: the Unix user running it, on this machine, and never a
web page of another origin (issue 19.1).

Guarantees (each decision is a pure function; `peer_uid` is the one reader of the system):
- A request whose `Origin` is neither the API's own origin (scheme and Host of the request)
  nor one of `api_cors_origins` is refused, whatever key it carries (`foreign_origin`).
- `POST /rpc` needs `Content-Type: application/json`: no browser sends that cross-origin
  without a CORS preflight, which only configured origins pass (`json_content_type`).
- The local user is a connection from a loopback address, to a Host header naming a loopback
  address (a page that rebinds its own DNS name to 127.0.0.1 still sends its own name), whose
  socket is owned by the API's own uid (`/proc/net/tcp`).
- Without a key, only the local user gets in (`keyless`): with leaf's session token (served
  only in leaf's own page, only to the local user), or from a program that is not a browser
  (no `Origin`, no cross-site `Sec-Fetch-Site`).
"""
from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
import socket
import struct
from dataclasses import dataclass

SESSION_HEADER = "x-herocelery-session"
SESSION_META = "herocelery-session"

NOT_ALLOWED_ORIGIN = ("origin {origin} may not call this API: add it to the api_cors_origins "
                      "setting (HEROCELERY_API_CORS_ORIGINS) and send an API key")
NOT_JSON = ("POST /rpc needs Content-Type: application/json (got {got}); a JSON-RPC request is "
            "a JSON body")
NOT_LOCAL_HOST = ("a request without an API key must name this machine in its Host header "
                  "(127.0.0.1, ::1 or localhost; got {host!r}): send Authorization: Bearer <key>")
NOT_LOCAL_USER = ("a request without an API key must come from this machine, as the Unix user "
                  "running the API (uid {uid}): send Authorization: Bearer <key>, or open leaf "
                  "as /leaf/?key=<key>")
BROWSER_NO_SESSION = ("a web page needs an API key (Authorization: Bearer <key>); leaf served "
                      "by this API has its own session, reload /leaf/")
BAD_SESSION = "leaf's session is not this API server's (it restarted): reload /leaf/"


def host_of(header: str | None) -> str:
    """The host part of a Host header (`[::1]:8780` -> `::1`). Pure."""
    if not header:
        return ""
    header = header.strip()
    if header.startswith("["):
        return header[1:].partition("]")[0]
    return header.rpartition(":")[0] if header.count(":") == 1 else header


def is_loopback_name(host: str) -> bool:
    """127.0.0.0/8, ::1 (or an IPv4-mapped loopback), `localhost`. Pure."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(addr, "ipv4_mapped", None)
    return bool(addr.is_loopback or (mapped is not None and mapped.is_loopback))


def foreign_origin(origin: str | None, scheme: str, host_header: str | None,
                   allowed: tuple[str, ...]) -> bool:
    """True when the request comes from a page of an origin that is neither the API's own nor
    configured. No Origin (a program, a navigation) is not foreign. Pure."""
    if origin is None:
        return False
    origin = origin.strip().rstrip("/")
    if origin in {a.rstrip("/") for a in allowed}:
        return False
    return origin.lower() != f"{scheme}://{(host_header or '').strip()}".lower()


def json_content_type(header: str | None) -> bool:
    """True for `application/json` (parameters such as charset allowed). Pure."""
    return (header or "").split(";", 1)[0].strip().lower() == "application/json"


def is_browser(origin: str | None, fetch_site: str | None) -> bool:
    """True when a request shows the marks of a web page: an Origin header (every POST from
    a page has one), or a Sec-Fetch-Site other than `none` (a user typing the URL). Pure."""
    return origin is not None or (fetch_site is not None and fetch_site.lower() != "none")


def same_origin_page(origin: str | None, fetch_site: str | None, scheme: str,
                     host_header: str | None) -> bool:
    """True when leaf's page is fetched by a navigation or by its own origin (never by
    another site's script). Pure."""
    if fetch_site is not None and fetch_site.lower() not in ("none", "same-origin"):
        return False
    return not foreign_origin(origin, scheme, host_header, ())


@dataclass(frozen=True)
class Keyless:
    """The verdict on a request without a key: `session` (leaf's page), `program` (a local
    program: the installation's single-user rule decides), or refused with `reason`."""

    kind: str
    reason: str = ""


def keyless(*, host_ok: bool, user_ok: bool, uid: int, session: str | None,
            session_ok: bool, browser: bool, host: str) -> Keyless:
    """Who a request without an API key is. Pure."""
    if not host_ok:
        return Keyless("refused", NOT_LOCAL_HOST.format(host=host))
    if not user_ok:
        return Keyless("refused", NOT_LOCAL_USER.format(uid=uid))
    if session is not None:
        return Keyless("session") if session_ok else Keyless("refused", BAD_SESSION)
    if browser:
        return Keyless("refused", BROWSER_NO_SESSION)
    return Keyless("program")


class Session:
    """leaf's same-origin credential: a random token per API process, put in leaf's page
    (which only the local user gets) and sent back as the X-Herocelery-Session header."""

    def __init__(self) -> None:
        self.token = secrets.token_urlsafe(32)

    def matches(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode(),
                                                             self.token.encode())


# ---- the peer's Unix user -----------------------------------------------------------------------
# sock_diag (netlink, what `ss` uses) looks one socket up by its addresses in microseconds;
# /proc/net/tcp lists every socket of the machine (milliseconds on a busy one) and stays as
# the fallback where netlink is not allowed
NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, NLMSG_ERROR = 4, 20, 1, 2
NLMSG_HDR = "=IHHII"                 # length, type, flags, seq, pid
DIAG_UID_OFFSET = 16 + 4 + 48 + 12   # nlmsghdr, family..retrans, sockid, expires..wqueue


def diag_request(client: tuple[str, int], server: tuple[str, int]) -> bytes:
    """The SOCK_DIAG_BY_FAMILY request for the TCP socket `client` -> `server`. Pure."""
    c, s = ipaddress.ip_address(client[0]), ipaddress.ip_address(server[0])
    family = socket.AF_INET if c.version == 4 else socket.AF_INET6
    sockid = (struct.pack("!HH", client[1], server[1]) + c.packed.ljust(16, b"\0") +
              s.packed.ljust(16, b"\0") + struct.pack("=III", 0, 0xFFFFFFFF, 0xFFFFFFFF))
    body = struct.pack("=BBBxI", family, socket.IPPROTO_TCP, 0, 0xFFFFFFFF) + sockid
    return struct.pack(NLMSG_HDR, 16 + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, 1,
                       0) + body


def _diag_uid(client: tuple[str, int], server: tuple[str, int]) -> int | None | bool:
    """The socket's uid by sock_diag; None when there is no such socket, False when netlink
    cannot be used here."""
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as nl:
            nl.settimeout(1.0)
            nl.sendto(diag_request(client, server), (0, 0))
            data = nl.recv(65536)
    except (OSError, AttributeError):
        return False
    if len(data) < 16 or struct.unpack_from("=IH", data)[1] == NLMSG_ERROR:
        return None
    if len(data) < DIAG_UID_OFFSET + 4:
        return False
    return int(struct.unpack_from("=I", data, DIAG_UID_OFFSET)[0])


def _hex_address(ip: str, port: int) -> tuple[str, str]:
    """How /proc/net/tcp{,6} writes an address: (file suffix, `HEX:PORT`), words in host
    byte order. Pure."""
    addr = ipaddress.ip_address(ip)
    if addr.version == 4:
        packed = socket.inet_aton(str(addr))
        return "", f"{struct.unpack('=I', packed)[0]:08X}:{port:04X}"
    words = struct.unpack("=4I", addr.packed)
    return "6", "".join(f"{w:08X}" for w in words) + f":{port:04X}"


def _proc_uid(client: tuple[str, int], server: tuple[str, int], proc_net: str) -> int | None:
    suffix, local = _hex_address(*client)
    _, remote = _hex_address(*server)
    try:
        with open(os.path.join(proc_net, "tcp" + suffix)) as f:
            next(f, None)
            for line in f:
                fields = line.split()
                if len(fields) > 7 and fields[1] == local and fields[2] == remote:
                    return int(fields[7])
    except (OSError, ValueError):
        return None
    return None


def peer_uid(client: tuple[str, int], server: tuple[str, int],
             proc_net: str = "/proc/net") -> int | None:
    """The uid owning the client end of a loopback TCP connection to `server`; None when it
    cannot be found. An IPv4-mapped peer (a dual-stack server) is looked up as the IPv4
    socket it is first, then as an IPv6 one."""
    candidates = []
    mapped = [getattr(ipaddress.ip_address(a[0]), "ipv4_mapped", None) for a in (client, server)]
    if mapped[0] is not None:
        candidates.append(((str(mapped[0]), client[1]),
                           (str(mapped[1] or server[0]), server[1])))
    candidates.append((client, server))
    for c, s in candidates:
        uid = _diag_uid(c, s)
        if uid is False:
            uid = _proc_uid(c, s, proc_net)
        if uid is not None:
            return int(uid)
    return None


def is_local_user(client: tuple[str, int] | None, server: tuple[str, int] | None) -> bool:
    """True when the peer is a loopback socket owned by this process's uid."""
    if client is None or server is None or not is_loopback_name(client[0]):
        return False
    try:
        uid = peer_uid((client[0], int(client[1])), (server[0], int(server[1])))
    except ValueError:
        return False
    return uid is not None and uid == os.getuid()

"""Which IP addresses are on the public internet: one rule for every outbound address check."""

from __future__ import annotations

import ipaddress
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# NAT64's well-known prefix: a gateway forwards 64:ff9b::a00:1 to 10.0.0.1 (RFC 6052).
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def is_public_address(address: IPAddress) -> bool:
    """Return True when ``address`` is globally reachable unicast: not private, loopback,
    link-local, multicast, reserved, unspecified, shared (100.64/10) or documentation space."""
    # An IPv6 address that carries an IPv4 one (mapped ::ffff:10.0.0.1, 6to4, NAT64) reaches
    # that IPv4 address: judge it, whatever this Python's rules say about the range as a whole.
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        elif address.sixtofour is not None:
            address = address.sixtofour
        elif address in _NAT64:
            address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    # is_global is the IANA "globally reachable" registry, which already leaves out private,
    # loopback, link-local, reserved and unspecified space; multicast can still be "global".
    return address.is_global and not address.is_multicast


def ipv4_shorthand(host: str) -> ipaddress.IPv4Address | None:
    """Return the address of an IPv4 literal in a form the resolver accepts but ipaddress does
    not (``127.1``, ``2130706433``, ``0x7f000001``), or None for a real name."""
    if not all(part and (part.isdigit() or part.startswith("0x")) for part in host.split(".")):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None

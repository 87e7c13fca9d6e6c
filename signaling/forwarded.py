"""The client's address, also behind reverse proxies (`--trusted-proxy`).

A proxy appends the address of its own peer to `X-Forwarded-For`; anything to the
left of that was written by whoever sent the request, so it proves nothing. The
header therefore counts only when the direct peer is a trusted proxy, and then
the client is the right-most address that is not itself a trusted proxy. Every
limit keyed on an address uses this (`signaling.http.common.client_ip`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

Network = IPv4Network | IPv6Network
Address = IPv4Address | IPv6Address

HEADER = "X-Forwarded-For"


def networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """The trusted networks, from CIDR strings ("10.0.0.0/8", "::1", "192.168.1.7");
    ValueError names the first one that is not a network."""
    out: list[Network] = []
    for cidr in cidrs:
        try:
            out.append(ip_network(cidr.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{cidr!r} is not an IP network (CIDR)") from None
    return tuple(out)


def _address(text: str) -> Address | None:
    """An address as proxies write it: bare, `[v6]`, `[v6]:port` or `v4:port`."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        addr = ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _trusted(addr: Address, trusted: Sequence[Network]) -> bool:
    return any(addr.version == net.version and addr in net for net in trusted)


def client_address(peer: str, forwarded: Sequence[str], trusted: Sequence[Network]) -> str:
    """The client's address: `peer` (the TCP peer), unless it is a trusted proxy; then the
    right-most address of the `X-Forwarded-For` values (`forwarded`, in header order)
    that is not a trusted proxy. A hop that is not an address ends the walk at the last
    good one: the client wrote it, not a proxy."""
    current = _address(peer)
    if current is None or not trusted or not _trusted(current, trusted):
        return peer
    hops = [hop for value in forwarded for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        addr = _address(hop)
        if addr is None:
            break
        current = addr
        if not _trusted(addr, trusted):
            break
    return str(current)

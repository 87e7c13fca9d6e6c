"""Write a tiny MaxMind DB (.mmdb) file, so the GeoIP path runs against a real database file.

The format (MaxMind DB File Format Specification 2.0): a binary search tree over the
address bits (24-bit records), 16 zero bytes, a data section, then the metadata map
after the marker b"\\xab\\xcd\\xefMaxMind.com". Only what a country database needs.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

MARKER = b"\xab\xcd\xefMaxMind.com"


class U16(int):
    pass


class U32(int):
    pass


class U64(int):
    pass


def _control(kind: int, size: int) -> bytes:
    assert size < 29
    if kind <= 7:
        return bytes([(kind << 5) | size])
    return bytes([size, kind - 7])  # extended type


def _uint(kind: int, value: int) -> bytes:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return _control(kind, len(raw)) + raw


def encode(value: Any) -> bytes:
    if isinstance(value, str):
        raw = value.encode()
        return _control(2, len(raw)) + raw
    if isinstance(value, U16):
        return _uint(5, value)
    if isinstance(value, U32):
        return _uint(6, value)
    if isinstance(value, U64):
        return _uint(9, value)
    if isinstance(value, dict):
        return _control(7, len(value)) + b"".join(encode(k) + encode(v) for k, v in value.items())
    if isinstance(value, list):
        return _control(11, len(value)) + b"".join(encode(v) for v in value)
    raise TypeError(type(value))


def write_country_db(path: Path, networks: dict[str, str]) -> Path:
    """An IPv4 country database: {"127.0.0.0/8": "FR", ...}."""
    nodes: list[list[Any]] = [[None, None]]
    data = b""
    for cidr, iso in networks.items():
        net = ipaddress.IPv4Network(cidr)
        bits = int(net.network_address)
        offset = len(data)
        data += encode({"country": {"iso_code": iso, "names": {"en": iso}}})
        node = 0
        for i in range(net.prefixlen):
            bit = (bits >> (31 - i)) & 1
            if i == net.prefixlen - 1:
                nodes[node][bit] = ("data", offset)
                break
            child = nodes[node][bit]
            if child is None:
                nodes.append([None, None])
                child = len(nodes) - 1
                nodes[node][bit] = child
            node = child
    count = len(nodes)

    def record(x: Any) -> int:
        if x is None:
            return count
        if isinstance(x, int):
            return x
        return count + 16 + x[1]

    tree = b"".join(record(a).to_bytes(3, "big") + record(b).to_bytes(3, "big") for a, b in nodes)
    metadata = {
        "node_count": U32(count),
        "record_size": U16(24),
        "ip_version": U16(4),
        "database_type": "Tribune-Test-Country",
        "languages": ["en"],
        "binary_format_major_version": U16(2),
        "binary_format_minor_version": U16(0),
        "build_epoch": U64(1_700_000_000),
        "description": {"en": "test database"},
    }
    path.write_bytes(tree + b"\x00" * 16 + data + MARKER + encode(metadata))
    return path

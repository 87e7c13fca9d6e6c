"""The country of an IP address, from a MaxMind GeoIP2/GeoLite2 `.mmdb` file (`--geoip`).

Used for the statistics' geography; without a database there is none, and every
address has the country "".
"""

from __future__ import annotations

import maxminddb


class GeoIP:
    """An open .mmdb database; `close` it when the server stops."""

    def __init__(self, path: str) -> None:
        self._reader: maxminddb.Reader | None = maxminddb.open_database(path)

    def country(self, ip: str) -> str:
        """The ISO code of the country (or else the registered country) of `ip`, or ""."""
        if self._reader is None or not ip:
            return ""
        try:
            found = self._reader.get(ip)
        except ValueError:  # not an IP address, or one of the other family
            return ""
        if not isinstance(found, dict):
            return ""
        for key in ("country", "registered_country"):
            place = found.get(key)
            if isinstance(place, dict) and isinstance(place.get("iso_code"), str):
                return str(place["iso_code"])
        return ""

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

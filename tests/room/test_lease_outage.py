"""The sweep pause of `leases.Outage`: none while the store is down, one lease after."""

from __future__ import annotations

from room.presence.leases import Outage


def test_sweeping_pauses_through_an_outage_and_one_lease_after_it() -> None:
    o = Outage(lease_ttl=20.0)
    assert o.may_sweep(at=100.0)
    assert o.failed() is True  # the outage starts: said once
    assert o.failed() is False
    assert not o.may_sweep(at=1000.0)
    assert o.answered(at=1000.0) is True  # it ends: said once
    assert o.answered(at=1001.0) is False
    assert not o.may_sweep(at=1019.9)
    assert o.may_sweep(at=1020.0)

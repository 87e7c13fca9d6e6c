"""Who is in an event, by concern: admission, roster, hands, roles and leases.

Functions here return the `Change`s they made (already recorded with a revision);
the signaling layer fans them out. Nothing here touches the network.
"""

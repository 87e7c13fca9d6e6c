"""The Socket.IO edge: the hub (connections and leases), dispatch, fan-out, and the
handlers of each area (room, moderation, media).

Handlers turn wire events into domain calls and the domain's `Change`s into emits:
rules live in `room/` and `moderation/`, who may send what in `room.permissions`,
payload shapes in `signaling.schemas`.
"""

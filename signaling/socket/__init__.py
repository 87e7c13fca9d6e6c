"""The Socket.IO edge: the hub, dispatch, fan-out, and one module of handlers per area."""

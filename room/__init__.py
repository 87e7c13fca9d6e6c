"""Tribune's room domain: events, roles, permissions, seats, stage, presence, lifecycle,
and the stores."""

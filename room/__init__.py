"""Tribune's room domain: accounts, events, roles, seats, lifecycle and the stores."""

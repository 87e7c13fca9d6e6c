"""The HTTP edge: one module per resource, and the helpers they share."""

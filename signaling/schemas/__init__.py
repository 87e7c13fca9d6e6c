"""Every wire Struct of the socket events, grouped by area, and the one validator.

`validation` turns a decoded payload into a Struct (or `invalid` naming the field);
`room`, `moderation` and `media` hold each area's payloads and acks.
"""

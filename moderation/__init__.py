"""Questions, the second screen, polls, chat moderation, slides and the audit trail (pure domain).

Every function works on the store alone and returns an `Outcome`: the `Change`s it
recorded (for the hub to fan out), the notices meant for one person's connection,
and the acknowledgement's extra fields. Nothing here touches the network.
"""

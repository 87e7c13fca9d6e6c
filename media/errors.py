"""Errors the media package raises; each names what the caller did wrong."""


class MediaError(Exception):
    """Base class of every error raised by :mod:`media`."""


class UnknownPeer(MediaError):
    """No publisher or subscriber with that id (never there, or already gone)."""


class NoFreeSlot(MediaError):
    """Every subscriber slot of that kind is taken; a track must stop first."""


class InvalidDescription(MediaError):
    """The SDP or its source map cannot be used (bad SDP, wrong kind, no codec)."""


class SfuClosed(MediaError):
    """The SFU has been closed."""

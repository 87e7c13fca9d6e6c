"""Tribune's media plane: an aiortc SFU that forwards encoded media untouched.

``media`` imports neither ``room`` nor ``signaling``; signaling asks ``room``
who may publish, then calls :class:`Sfu`. See ``docs/media.md``.
"""

from media.errors import InvalidDescription, MediaError, NoFreeSlot, SfuClosed, UnknownPeer
from media.sfu import Sfu
from media.types import (
    IceServer,
    Kind,
    PeerRole,
    SfuStats,
    Slot,
    Source,
    Speaker,
    SpeakerListener,
    StageTrack,
    SubscribeOffer,
    VideoCodec,
)

__all__ = [
    "IceServer",
    "InvalidDescription",
    "Kind",
    "MediaError",
    "NoFreeSlot",
    "PeerRole",
    "Sfu",
    "SfuClosed",
    "SfuStats",
    "Slot",
    "Source",
    "Speaker",
    "SpeakerListener",
    "StageTrack",
    "SubscribeOffer",
    "UnknownPeer",
    "VideoCodec",
]

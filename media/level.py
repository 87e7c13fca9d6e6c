"""Audio levels as publishers send them, never decoded: RFC 6464's `ssrc-audio-level`.

A browser puts, in every Opus RTP packet, a header extension
(``urn:ietf:params:rtp-hdrext:ssrc-audio-level``) with the level of the audio in that
packet: a voice-activity bit and 7 bits of level in -dBov (0 the loudest, 127 silence).
aiortc negotiates the extension for audio in its answer (``aiortc.codecs.HEADER_EXTENSIONS``
lists it; the answer keeps the offer's id) and parses it into every packet it receives
(``RtpPacket.extensions.audio_level == (voice, level)``), so the SFU reads it for free.

The voice bit is not used: not every sender sets it (aiortc's never does), and the level
alone says who is loud.

A :class:`Meter` per published audio track sums, per packet, the level's linear energy
(one table look-up and two additions in the assembler, no object made), and the active
speaker's detector (``media/speaker.py``) takes the sums every tick: a mean of energies,
not of decibels, so a short loud syllable counts as loud as it sounds.
"""

from __future__ import annotations

import math

SCALE = 10**13
"""Energy of a full-scale packet (level 0); level 127 is 2."""

ENERGY: tuple[int, ...] = tuple(round(SCALE * 10 ** (-level / 10)) for level in range(128))
"""Linear energy of each RFC 6464 level (-dBov), as an integer."""

SILENCE = -127.0
"""dBov of no sound at all (and of a track that sent no level)."""


class Meter:
    """The levels of one published audio track since the last :meth:`take`."""

    __slots__ = ("count", "energy")

    def __init__(self) -> None:
        self.energy = 0
        """Sum of `ENERGY[level]` over the packets counted."""
        self.count = 0
        """Packets that carried a level."""

    def add(self, level: int) -> None:
        """One packet's level (-dBov); the assembler inlines the same two additions."""
        self.energy += ENERGY[level & 0x7F]
        self.count += 1

    def take(self) -> tuple[int, int]:
        """The (energy, count) summed so far, and start again from zero."""
        taken = (self.energy, self.count)
        self.energy = self.count = 0
        return taken


def dbov(energy: int, count: int) -> float:
    """The mean level of `count` packets whose energies sum to `energy`, in dBov."""
    if count <= 0 or energy <= 0:
        return SILENCE
    return max(SILENCE, 10 * math.log10(energy / count / SCALE))

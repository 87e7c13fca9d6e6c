"""The active speaker's detector, on synthetic level sequences (RFC 6464 -dBov per packet):
switching, hysteresis, silence, the rate of changes; the meter the assembler fills."""

from __future__ import annotations

from itertools import pairwise

from aiortc.rtp import RtpPacket

from media.assembler import FrameAssembler
from media.forward import Feed
from media.keyframe import KeyframeRequester
from media.level import ENERGY, Meter, dbov
from media.speaker import SpeakerDetector, SpeakerWatch
from media.types import Speaker

TICK = 0.25
PACKETS = 12  # about 0.25 s of 20 ms Opus packets


def level(minus_dbov: int, packets: int = PACKETS) -> tuple[int, int]:
    """One tick of packets all carrying the same level."""
    return ENERGY[minus_dbov] * packets, packets


LOUD, SOFT, QUIET = 20, 35, 90  # -20 dBov, -35 dBov, -90 dBov (not speaking)


class Run:
    """Feeds ticks to a detector and notes every change with its time."""

    def __init__(self) -> None:
        self.detector: SpeakerDetector[str] = SpeakerDetector()
        self.now = 0.0
        self.changes: list[tuple[float, str | None]] = []

    def ticks(self, seconds: float, **levels: int) -> None:
        for _ in range(round(seconds / TICK)):
            self.now += TICK
            if self.detector.update(self.now, {k: level(v) for k, v in levels.items()}):
                self.changes.append((self.now, self.detector.current))


def test_the_mean_is_of_energies_not_of_decibels() -> None:
    assert dbov(*level(30)) == -30.0
    # one packet at -10 dBov among 24 silent ones: -10 - 10*log10(25) ≈ -24 dBov
    assert round(dbov(ENERGY[10] + 24 * ENERGY[127], 25)) == -24
    assert dbov(0, 0) == -127.0


def test_a_first_speaker_is_taken_at_once_and_silence_keeps_him() -> None:
    run = Run()
    run.ticks(1, a=QUIET, b=127)
    assert run.changes == [] and run.detector.current is None
    run.ticks(0.25, a=LOUD, b=127)
    assert run.changes == [(1.25, "a")]
    run.ticks(5, a=127, b=QUIET)  # everyone silent: no change
    assert run.changes == [(1.25, "a")]


def test_a_challenger_takes_over_only_after_being_louder_for_a_second() -> None:
    run = Run()
    run.ticks(1, a=LOUD, b=127)
    assert run.detector.current == "a"
    run.ticks(0.75, a=SOFT, b=LOUD)  # louder, but not for long enough
    run.ticks(1, a=LOUD, b=SOFT)
    assert [who for _, who in run.changes] == ["a"]
    start = run.now
    run.ticks(3, a=SOFT, b=LOUD)
    assert [who for _, who in run.changes] == ["a", "b"]
    switched_at = run.changes[-1][0]
    assert switched_at - start >= 1.0  # hysteresis: a full second louder (0.5 s window)


def test_a_cough_does_not_move_the_stage() -> None:
    run = Run()
    run.ticks(2, a=SOFT, b=127)
    for _ in range(4):
        run.ticks(0.25, a=SOFT, b=5)  # a short burst, louder than a
        run.ticks(1, a=SOFT, b=127)
    assert [who for _, who in run.changes] == ["a"]


def test_a_challenger_a_little_louder_than_the_speaker_does_not_take_over() -> None:
    run = Run()
    run.ticks(1, a=30, b=127)
    run.ticks(5, a=30, b=28)  # 2 dB louder: within the margin
    assert [who for _, who in run.changes] == ["a"]
    run.ticks(5, a=127, b=48)  # the speaker falls silent: any speaker is louder
    assert [who for _, who in run.changes] == ["a", "b"]


def test_levels_below_the_threshold_never_make_a_speaker() -> None:
    run = Run()
    run.ticks(1, a=LOUD, b=127)
    run.ticks(5, a=127, b=60)  # -60 dBov: room noise, not speech
    assert [who for _, who in run.changes] == ["a"]


def test_a_speaker_who_leaves_is_replaced_by_whoever_speaks_or_by_no_one() -> None:
    run = Run()
    run.ticks(1, a=LOUD, b=SOFT)
    run.ticks(2, b=SOFT)  # a's track left the stage
    assert [who for _, who in run.changes] == ["a", "b"]
    run.ticks(2, c=127)
    assert [who for _, who in run.changes] == ["a", "b", None]


def test_at_most_one_change_per_second() -> None:
    run = Run()
    run.ticks(0.25, a=LOUD)
    run.ticks(0.25, b=LOUD)  # a left a quarter second after being named
    run.ticks(0.25, c=LOUD)
    run.ticks(2, d=LOUD)
    times = [t for t, _ in run.changes]
    assert all(later - earlier >= 1.0 for earlier, later in pairwise(times))
    assert run.detector.current == "d"


def test_the_assembler_sums_the_levels_audio_packets_carry() -> None:
    meter = Meter()
    assembler = FrameAssembler("audio", "opus", lambda f: None, lambda r: None, meter=meter)
    for seq, lvl in enumerate((10, 30, None, 127)):
        packet = RtpPacket(payload_type=111, sequence_number=seq, timestamp=seq * 960)
        packet.payload = b"\xfc\x01"
        if lvl is not None:
            packet.extensions.audio_level = (True, lvl)
        assembler.add(packet)
    assert meter.take() == (ENERGY[10] + ENERGY[30] + ENERGY[127], 3)
    assert meter.take() == (0, 0)


def test_the_watch_tells_changes_and_refreshes_an_unchanged_speaker() -> None:
    now = [0.0]
    told: list[tuple[Speaker | None, bool]] = []
    feeds = [Feed(p, "mic", "audio", KeyframeRequester(lambda: True)) for p in ("p1", "p2")]
    video = Feed("p1", "camera", "video", KeyframeRequester(lambda: True))
    watch = SpeakerWatch(
        lambda: [*feeds, video], lambda s, c: told.append((s, c)), clock=lambda: now[0]
    )
    for _ in range(16):  # 4 s: p2 speaks
        now[0] += TICK
        for _ in range(PACKETS):
            feeds[0].meter.add(127)
            feeds[1].meter.add(LOUD)
        watch.tick()
    assert told[0] == (Speaker("p2", "mic"), True)
    assert told[1:] and all(t == (Speaker("p2", "mic"), False) for t in told[1:])
    assert len(told) <= 3  # a refresh every 2 s, not every tick


def test_levels_from_before_a_track_came_on_stage_do_not_count() -> None:
    told: list[tuple[Speaker | None, bool]] = []
    on_stage: list[Feed] = []
    back = Feed("p1", "mic", "audio", KeyframeRequester(lambda: True))
    for _ in range(PACKETS * 4):  # off stage (muted) for a second, its packets still counted
        back.meter.add(LOUD)
    watch = SpeakerWatch(lambda: on_stage, lambda s, c: told.append((s, c)), clock=lambda: 0.0)
    on_stage.append(back)
    watch.tick()
    assert told == []
    for _ in range(PACKETS):
        back.meter.add(LOUD)
    watch.tick()
    assert told == [(Speaker("p1", "mic"), True)]

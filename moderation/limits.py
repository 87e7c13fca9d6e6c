"""The numbers that bound moderation: text lengths, rates, sizes (one place, no magic numbers)."""

from __future__ import annotations

from dataclasses import dataclass

from room.ratelimit import Rate


@dataclass(frozen=True)
class Limits:
    question_length: int = 500
    questions_burst: int = 5
    """Questions a participant may ask at once ..."""
    questions_every: float = 10.0
    """... then one more every this many seconds."""
    chat_length: int = 1000
    chat_burst: int = 5
    chat_every: float = 1.0
    questions_per_event: int = 10_000
    """Questions one event keeps at most; beyond, asking is refused (`limit_reached`); the
    server sets it with `--max-questions-per-event`."""
    chat_per_event: int = 50_000
    """Chat messages one event keeps at most; beyond, sending is refused (`limit_reached`);
    the server sets it with `--max-chat-per-event`."""
    chat_history: int = 100
    """Messages a page receives when it connects."""
    poll_question_length: int = 300
    poll_option_length: int = 200
    poll_options: int = 10
    polls_per_event: int = 100
    poll_results_every: float = 0.5
    """Live poll results are sent at most this often (votes in between are coalesced)."""
    slide_upload_bytes: int = 50 * 1024 * 1024
    slides_per_deck: int = 300
    slide_width: int = 1600
    """Pixels across of a rendered slide."""
    slide_max_pixels: int = 40_000_000
    """Larger images (or PDF pages once scaled) are refused: no decompression bombs."""
    slide_deck_bytes: int = 100 * 1024 * 1024
    """The rendered slides of one upload together (JPEG bytes put in the store)."""
    slide_render_seconds: float = 120.0
    """Rendering one upload may take this long; the deadline is checked before each page."""
    audit_page: int = 500
    audit_offset: int = 10**9
    """The furthest entry a page of the audit trail may start at (the store counts in 64 bits)."""
    export_url_ttl: int = 300
    """Seconds a signed download link from the manager page stays valid."""

    @property
    def questions_rate(self) -> Rate:
        return Rate(self.questions_burst, self.questions_every)

    @property
    def chat_rate(self) -> Rate:
        return Rate(self.chat_burst, self.chat_every)


LIMITS = Limits()

"""The per-event caps' serve flags and their TRIBUNE_* twins reach moderation's limits."""

from __future__ import annotations

from moderation.limits import LIMITS
from signaling.cli import config_from, parser


def test_cap_flags_and_their_env_twins(monkeypatch):
    limits = config_from(parser().parse_args(["serve"])).limits
    assert (limits.questions_per_event, limits.chat_per_event) == (10_000, 50_000)
    args = ["serve", "--max-questions-per-event", "7", "--max-chat-per-event", "9"]
    limits = config_from(parser().parse_args(args)).limits
    assert (limits.questions_per_event, limits.chat_per_event) == (7, 9)
    assert limits.question_length == LIMITS.question_length  # the other numbers stay
    monkeypatch.setenv("TRIBUNE_MAX_QUESTIONS_PER_EVENT", "11")
    monkeypatch.setenv("TRIBUNE_MAX_CHAT_PER_EVENT", "13")
    limits = config_from(parser().parse_args(["serve"])).limits
    assert (limits.questions_per_event, limits.chat_per_event) == (11, 13)

"""Moderation's store keys keep their exact strings: stored data is found by them."""

from __future__ import annotations

import inspect

from moderation import keys

PINNED = {
    "audit": "ev:E:audit",
    "questions": "ev:E:q",
    "questions_by": "ev:E:q:by:I",
    "votes_by": "ev:E:q:voted:I",
    "vote_counts": "ev:E:q:votes",
    "question_cids": "ev:E:q:cid",
    "push_seq": "ev:E:q:pushseq",
    "question_throttle": "ev:E:throttle:question",
    "screen_link": "ev:E:screen-link",
    "chat": "ev:E:chat",
    "chat_order": "ev:E:chat:order",
    "chat_seq": "ev:E:chat:seq",
    "chat_cids": "ev:E:chat:cid",
    "chat_muted": "ev:E:chat:muted",
    "chat_asked": "ev:E:chat:asked",
    "chat_throttle": "ev:E:throttle:chat",
    "polls": "ev:E:polls",
    "polls_meta": "ev:E:polls:meta",
    "ballots": "ev:E:poll:I:ballots",
    "slides": "ev:E:slides",
    "slide_images": "ev:E:slides:I",
}


def build(fn):
    args = ["E", "I"][: len(inspect.signature(fn).parameters)]
    return fn(*args)


def test_every_key_is_pinned_and_distinct():
    builders = {n: f for n, f in vars(keys).items() if inspect.isfunction(f) and n != "event_keys"}
    assert set(builders) == set(PINNED)
    built = {n: build(f) for n, f in builders.items()}
    assert built == PINNED
    assert len(set(built.values())) == len(built)
    assert keys.DOWNLOAD_SECRET == "moderation:download-secret"


def test_every_per_event_key_is_listed_for_deletion():
    """Deleting an event deletes `keys.event_keys`: a per-event builder missing there would
    leave its data behind forever."""
    listed = set(keys.event_keys("E", identities=["I"], poll_ids=["I"], deck_ids=["I"]))
    assert {n for n, v in PINNED.items() if v not in listed} == set()
    assert all(k.startswith("ev:E:") for k in listed)

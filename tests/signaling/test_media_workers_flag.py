"""`--media-workers N` and its TRIBUNE_MEDIA_WORKERS twin reach the config: the number of
cores by default, 1 (the media in the server's own process) at the least."""

from __future__ import annotations

import os

from signaling.cli import config_from, parser
from signaling.config import Config


def test_media_workers_flag_env_twin_and_default(monkeypatch) -> None:
    monkeypatch.delenv("TRIBUNE_MEDIA_WORKERS", raising=False)
    assert config_from(parser().parse_args(["serve"])).media_workers == (os.cpu_count() or 1)
    assert config_from(parser().parse_args(["serve", "--media-workers", "3"])).media_workers == 3
    assert config_from(parser().parse_args(["serve", "--media-workers", "0"])).media_workers == 1
    monkeypatch.setenv("TRIBUNE_MEDIA_WORKERS", "4")
    assert config_from(parser().parse_args(["serve"])).media_workers == 4
    assert Config().media_workers == 1  # built directly (tests, embedding): in-process media

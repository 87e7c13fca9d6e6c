"""The serve flags of the audience side and their TRIBUNE_* twins."""

from __future__ import annotations

from signaling.cli import config_from, parser


def test_mail_and_geoip_flags(monkeypatch):
    args = parser().parse_args(
        [
            "serve",
            "--smtp-url",
            "smtp://u:p@mail:587",
            "--geoip",
            "/data/country.mmdb",
            "--mail-from",
            "events@acme.test",
        ]
    )
    config = config_from(args)
    assert (config.smtp_url, config.geoip_path, config.mail_from) == (
        "smtp://u:p@mail:587",
        "/data/country.mmdb",
        "events@acme.test",
    )
    monkeypatch.setenv("TRIBUNE_SMTP_URL", "smtps://mail.example")
    monkeypatch.setenv("TRIBUNE_GEOIP", "/geo.mmdb")
    config = config_from(parser().parse_args(["serve"]))
    assert (config.smtp_url, config.geoip_path, config.mail_from) == (
        "smtps://mail.example",
        "/geo.mmdb",
        "tribune@localhost",
    )

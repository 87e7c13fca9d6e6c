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


def test_trusted_proxy_flag_and_its_env_twin(monkeypatch):
    args = parser().parse_args(
        ["serve", "--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "::1"]
    )
    config = config_from(args)
    assert config.trusted_proxies == ["10.0.0.0/8", "::1"]
    assert [str(n) for n in config.proxy_networks] == ["10.0.0.0/8", "::1/128"]
    assert config_from(parser().parse_args(["serve"])).proxy_networks == ()
    monkeypatch.setenv("TRIBUNE_TRUSTED_PROXY", "192.168.0.0/16, 127.0.0.1")
    config = config_from(parser().parse_args(["serve"]))
    assert [str(n) for n in config.proxy_networks] == ["192.168.0.0/16", "127.0.0.1/32"]


def test_address_ban_flag_and_its_env_twin(monkeypatch):
    assert config_from(parser().parse_args(["serve"])).address_ban == 3600.0
    assert config_from(parser().parse_args(["serve", "--address-ban", "0"])).address_ban == 0.0
    monkeypatch.setenv("TRIBUNE_ADDRESS_BAN", "600")
    assert config_from(parser().parse_args(["serve"])).address_ban == 600.0


def test_drain_timeout_and_metrics_token_flags_and_their_env_twins(monkeypatch):
    default = config_from(parser().parse_args(["serve"]))
    assert (default.drain_timeout, default.metrics_token) == (30.0, None)
    given = config_from(
        parser().parse_args(["serve", "--drain-timeout", "5", "--metrics-token", "tok"])
    )
    assert (given.drain_timeout, given.metrics_token) == (5.0, "tok")
    monkeypatch.setenv("TRIBUNE_DRAIN_TIMEOUT", "12")
    monkeypatch.setenv("TRIBUNE_METRICS_TOKEN", "from-env")
    env = config_from(parser().parse_args(["serve"]))
    assert (env.drain_timeout, env.metrics_token) == (12.0, "from-env")

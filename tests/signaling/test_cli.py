"""The `tribune` command as a user runs it: demo links, accounts, restart keeps everything."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.helpers import Client, Refused, http
from tests.room.audience.helpers import Web

EXE = [sys.executable, "-m", "signaling.cli"]
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EXE, *args], capture_output=True, text=True, timeout=60, cwd=ROOT, env=env)


class Serve:
    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [*EXE, "serve", "--port", str(self.port), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        )

    def json_line(self) -> dict:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, self.proc.stderr.read() if self.proc.stderr else "no output"
        return json.loads(line)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.communicate(timeout=30)  # also closes the pipes
        return self.proc.returncode

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def test_help_documents_every_flag_and_its_env_twin() -> None:
    out = run("serve", "--help").stdout
    for flag in ("--host", "--port", "--data-dir", "--redis-url", "--demo", "--json", "--grace", "--ws-compression", "--ice-server", "--public-url", "--secret", "--trusted-proxy", "--address-ban"):
        assert flag in out
    assert out.count("TRIBUNE_") >= 13 and "TRIBUNE_TRUSTED_PROXY" in out
    assert "TRIBUNE_ADDRESS_BAN" in out
    assert "--attendees" in run("account", "create", "--help").stdout


def test_short_secret_is_refused(tmp_path: Path) -> None:
    r = run("serve", "--secret", "short", "--data-dir", str(tmp_path))
    assert r.returncode == 2 and "32 bytes" in r.stderr


def test_a_trusted_proxy_that_is_no_network_is_refused(tmp_path: Path) -> None:
    r = run("serve", "--trusted-proxy", "10.0.0.0/33", "--data-dir", str(tmp_path))
    assert r.returncode == 2 and "--trusted-proxy" in r.stderr
    assert "'10.0.0.0/33' is not an IP network" in r.stderr


async def test_demo_survives_a_restart(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    created = run("account", "create", "Big Co", "--attendees", "500", "--presenter-seats", "3", "--json", "--data-dir", data)
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)["api_key"]

    s = Serve("--demo", "--json", "--data-dir", data)
    try:
        info = s.json_line()
        assert set(info["links"]) >= {"organizer", "presenter", "participant", "collaborator", "screen"}
        assert all(u.startswith(s.url + "/") for u in info["links"].values())
        status, body = await http("POST", s.url + "/api/v1/events", key, {"title": "Big", "capacity": 500})
        assert status == 201
        big_event = body["id"]
        # the presenter link binds to the first device
        pres_token = info["links"]["presenter"].split("#t=")[1]
        c = Client(s.url)
        await c.connect(pres_token, "presenter-device-1")
        await c.wait_for("room.state")
        await c.close()
        # an account created while the server runs on the embedded store is refused, clearly
        busy = run("account", "create", "Late", "--data-dir", data)
        assert busy.returncode == 2 and "in use" in busy.stderr
    finally:
        assert s.stop() == 0

    s2 = Serve("--demo", "--json", "--data-dir", data)
    try:
        again = s2.json_line()
        assert again["event_id"] == info["event_id"] and again["api_key"] == info["api_key"]
        status, body = await http("GET", s2.url + f"/api/v1/events/{big_event}", key)
        assert status == 200 and body["title"] == "Big"
        # old links still work (same secret, same invitations) and the binding held
        other = Client(s2.url)
        with pytest.raises(Refused) as err:
            await other.connect(pres_token, "another-device-2")
        assert err.value.code == "link_bound"
        again_c = Client(s2.url)
        await again_c.connect(pres_token, "presenter-device-1")
        await again_c.wait_for("room.state")
        await again_c.close()
    finally:
        assert s2.stop() == 0


def test_env_twins_are_read(tmp_path: Path) -> None:
    env = {**os.environ, "TRIBUNE_DATA_DIR": str(tmp_path / "envdata")}
    r = run("account", "create", "Env", "--json", env=env)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "envdata" / "tribune-snapshot.msgpack").exists()


def test_serve_prints_a_table_of_links(tmp_path: Path) -> None:
    s = Serve("--demo", "--data-dir", str(tmp_path))
    try:
        assert s.proc.stdout is not None
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = s.proc.stdout.readline()
            lines.append(line)
            if line.strip().startswith("screen"):
                break
        text = "".join(lines)
        for role in ("organizer", "presenter", "participant", "collaborator", "screen"):
            assert f"  {role}" in text
        assert "/room/" in text and "/screen/" in text
    finally:
        s.stop()


async def test_rotate_key_gives_a_new_key_and_the_old_one_stops_working(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    created = run("account", "create", "Leaky Co", "--json", "--data-dir", data)
    old = json.loads(created.stdout)["api_key"]
    rotated = run("account", "rotate-key", json.loads(created.stdout)["account_id"], "--json", "--data-dir", data)
    assert rotated.returncode == 0, rotated.stderr
    new = json.loads(rotated.stdout)["api_key"]
    assert new != old and new.startswith("trb_")
    unknown = run("account", "rotate-key", "acc_nope", "--data-dir", data)
    assert unknown.returncode == 2 and "not_found" in unknown.stderr
    s = Serve("--demo", "--json", "--data-dir", data)
    try:
        s.json_line()  # printed once the server listens
        assert (await http("GET", s.url + "/api/v1/account", old))[0] == 401
        assert (await http("GET", s.url + "/api/v1/account", new))[0] == 200
    finally:
        assert s.stop() == 0


async def test_account_create_with_an_owner_who_signs_in_by_link(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    created = run("account", "create", "Own Co", "--owner-email", "Boss@Own.test", "--json", "--data-dir", data)
    assert created.returncode == 0, created.stderr
    out = json.loads(created.stdout)
    assert set(out) == {"account_id", "name", "api_key", "cycle", "owner_email"}
    assert out["owner_email"] == "boss@own.test"
    again = run("account", "create", "Copy Co", "--owner-email", "boss@own.test", "--data-dir", data)
    assert again.returncode == 2 and "conflict" in again.stderr
    bad = run("account", "create", "Bad Co", "--owner-email", "not an address", "--data-dir", data)
    assert bad.returncode == 2 and "invalid" in bad.stderr
    assert "--owner-email" in run("account", "create", "--help").stdout
    s = Serve("--demo", "--json", "--data-dir", data)
    try:
        s.json_line()
        web = Web(s.url)
        try:
            status, _ = await web.call("POST", "/api/v1/auth/magic", {"email": "boss@own.test"})
            assert status == 200
            mail = await wait_outbox(Path(data), "boss@own.test")
            token = mail.split("#magic=", 1)[1].split()[0]
            status, me = await web.call("POST", "/api/v1/auth/magic/consume", {"token": token})
            assert status == 200 and me["user"]["owner"] is True
            assert me["account"]["id"] == out["account_id"]
        finally:
            await web.close()
    finally:
        assert s.stop() == 0


async def wait_outbox(data: Path, to: str, subject: str = "") -> str:
    """The text of the first mail to `to` (with `subject` in its subject) in the outbox."""
    import asyncio
    import email
    import email.policy

    for _ in range(200):
        for path in sorted((data / "outbox").glob("*.eml")) if (data / "outbox").exists() else []:
            msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if msg["To"] == to and subject in str(msg["Subject"]):
                part = msg.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
                return str(part.get_content())
        await asyncio.sleep(0.1)
    raise AssertionError(f"no mail to {to} in the outbox")


async def test_demo_prints_a_dashboard_sign_in_link_and_mails_the_presenters_thanks(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    s = Serve("--demo", "--json", "--data-dir", data)
    try:
        info = s.json_line()
        assert set(info) == {"api_key", "event_id", "links"}
        assert set(info["links"]) == {"organizer", "presenter", "participant", "collaborator", "screen", "manage", "dashboard"}
        dashboard = info["links"]["dashboard"]
        assert dashboard.startswith(s.url + "/login#magic=")
        web = Web(s.url)
        try:
            token = dashboard.split("#magic=", 1)[1]
            status, me = await web.call("POST", "/api/v1/auth/magic/consume", {"token": token})
            assert status == 200 and me["user"]["owner"] is True
            status, listed = await web.call("GET", "/api/v1/dashboard/events")
            assert status == 200 and [e["id"] for e in listed["events"]] == [info["event_id"]]
        finally:
            await web.close()
        org = Client(s.url)
        await org.connect(info["links"]["organizer"].split("#t=")[1], "org-device")
        assert (await org.call("event.start"))["ok"]
        assert (await org.call("event.end"))["ok"]
        await org.close()
        thanks = await wait_outbox(Path(data), "presenter@demo.example.com", "Thank you for presenting")
        assert "Tribune demo webinar" in thanks
    finally:
        assert s.stop() == 0
    s2 = Serve("--demo", "--json", "--data-dir", data)
    try:
        again = s2.json_line()
        assert again["event_id"] == info["event_id"]
        assert again["links"]["dashboard"] != info["links"]["dashboard"]  # a fresh one-time link
        assert (await http("GET", s2.url + "/healthz"))[0] == 200
    finally:
        assert s2.stop() == 0

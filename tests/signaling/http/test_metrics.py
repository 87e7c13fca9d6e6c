"""`GET /metrics`: the Prometheus text format, only for `--metrics-token` bearers (404
without the flag, 401 with a wrong token); the figures move with what happens."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import Refused, Server, http

TOKEN = "metrics-token-for-the-test"


async def scrape(server: Server) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and labels."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{server.url}/metrics", headers=headers) as r:
            assert r.status == 200, await r.text()
            assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            text = await r.text()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


async def test_metrics_need_the_flag_and_the_token(make_server) -> None:
    plain: Server = await make_server()
    assert (await http("GET", f"{plain.url}/metrics", key=TOKEN))[0] == 404
    guarded: Server = await make_server(metrics_token=TOKEN)
    status, body = await http("GET", f"{guarded.url}/metrics")
    assert status == 401 and body["error"]["code"] == "unauthorized", body
    assert (await http("GET", f"{guarded.url}/metrics", key="wrong"))[0] == 401
    assert (await http("GET", f"{guarded.url}/metrics", key=TOKEN))[0] == 200


async def test_figures_move_with_joins_refusals_and_messages(make_server, redis_url) -> None:
    server: Server = await make_server(redis_url=redis_url, metrics_token=TOKEN)
    s = await server.setup()
    before = await scrape(server)
    assert before[("tribune_connections", (("namespace", "/room"),))] == 0
    assert before[("tribune_live_events", ())] == 0
    assert before[("tribune_media_peers", (("role", "publisher"),))] == 0
    assert before[("tribune_media_forwarding_delay_seconds_count", ())] == 0

    c = await s.join("participant")
    await c.wait_for("room.state")
    assert (await c.call("question.ask", {"text": "counted?"}))["ok"]
    assert (await c.call("no.such.event"))["error"]["code"] == "invalid"
    try:
        await server.client("not-a-token")
        raise AssertionError("a bad token was admitted")
    except Refused as refused:
        code = refused.code
    after = await scrape(server)

    assert after[("tribune_connections", (("namespace", "/room"),))] == 1
    assert after[("tribune_connections", (("namespace", "/manage"),))] == 0
    assert after[("tribune_live_events", ())] == 1
    assert after[("tribune_seats_in_use", (("pool", "attendee"),))] == 1
    assert after[("tribune_refusals_total", (("code", code),))] >= 1
    assert after[("tribune_refusals_total", (("code", "invalid"),))] >= 1
    sent = ("tribune_fanout_messages_total", (("namespace", "/room"),))
    assert after[sent] > before.get(sent, 0)
    assert after[("tribune_store_seconds_count", ())] > before[("tribune_store_seconds_count", ())]
    assert after[("tribune_store_errors_total", ())] == 0
    for name in ("packets_forwarded_total", "bytes_forwarded_total", "keyframe_requests_total"):
        assert after[(f"tribune_media_{name}", ())] == 0  # nobody on stage

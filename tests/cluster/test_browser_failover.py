"""The failover a webinar's audience sees, in real Chromium through haproxy: a presenter
publishes, two attendees watch, and the node that owns the event's media is killed -9.
Both attendees see the presenter's video again, through the survivor, within 10 s; a
question asked before the kill is still on the manager page after it."""

from __future__ import annotations

import asyncio
import time

from playwright.async_api import Browser, Page, expect

from tests.cluster.cluster import Cluster
from tests.cluster.nodes import Node
from tests.e2e.conftest import browser  # noqa: F401 (the fixture)
from tests.e2e.rooms import enter_shared

FRESH_FRAMES = """async () => {
  const pc = window.tribune && window.tribune.subscriber;
  if (!pc || pc.beforeKill) return -1;
  let frames = 0;
  (await pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "video") frames += r.framesDecoded || 0;
  });
  return frames;
}"""
"""Video frames decoded on the page's current subscribe connection; -1 while it is the one
from before the kill."""


PEERS = """async () => {
  const out = {};
  for (const [name, pc] of [["sub", window.tribune.subscriber], ["pub", window.tribune.publisher]]) {
    if (!pc) continue;
    const rtp = [];
    (await pc.getStats()).forEach((r) => {
      if (r.type === "inbound-rtp" || r.type === "outbound-rtp")
        rtp.push([r.type, r.kind, r.packetsReceived, r.packetsSent, r.framesDecoded, r.framesEncoded]);
    });
    out[name] = [pc.connectionState, pc.signalingState, pc.beforeKill || false, rtp];
  }
  out.message = document.querySelector('[data-testid="stage-message"]')?.textContent;
  return JSON.stringify(out);
}"""
"""What a page's media connections are doing (printed when the test fails)."""


async def frames(page: Page) -> int:
    return int(await page.evaluate(FRESH_FRAMES))


async def owner_of_media(cluster: Cluster) -> Node:
    peers = {n.name: await n.metric("tribune_media_peers") for n in cluster.nodes}
    owners = [n for n in cluster.nodes if peers[n.name] > 0]
    assert len(owners) == 1, peers
    return owners[0]


async def test_attendees_see_the_presenter_again_after_the_owner_is_killed(
    cluster: Cluster,
    browser: Browser,  # noqa: F811
) -> None:
    w = await cluster.webinar()
    room = f"{cluster.balancer.url}/room/{w.event.id}#t="
    pages: list[Page] = []
    said: list[str] = []  # the pages' console, for the failure message
    for role in ("presenter", "participant", "participant"):
        page = await (await browser.new_context()).new_page()
        page.on(
            "console", lambda m, role=role: said.append(f"{time.monotonic():.2f} {role}: {m.text}")
        )
        if role == "participant":
            await enter_shared(page, room + w.tokens[role])
        else:
            await page.goto(room + w.tokens[role])
        await expect(page.get_by_test_id("my-role")).to_have_text(role)
        pages.append(page)
    presenter, *attendees = pages
    manager = await (await browser.new_context()).new_page()
    await manager.goto(f"{cluster.balancer.url}/manage/{w.event.id}#t={w.tokens['organizer']}")
    await expect(manager.get_by_test_id("connection")).to_have_text("connected")

    await attendees[0].get_by_test_id("question-input").fill("Will the replay be online?")
    await attendees[0].get_by_test_id("question-submit").click()
    row = manager.get_by_test_id("question-row").filter(has_text="Will the replay be online?")
    await expect(row).to_be_visible()

    await presenter.get_by_test_id("camera-toggle").click()
    for page in attendees:  # the presenter's video reaches both before the kill
        deadline = time.monotonic() + 20
        while await frames(page) < 30:
            assert time.monotonic() < deadline, "no video before the kill"
            await asyncio.sleep(0.1)
        await page.evaluate("window.tribune.subscriber.beforeKill = true")
    owner = await owner_of_media(cluster)
    survivor = cluster.b if owner is cluster.a else cluster.a

    await owner.kill()
    killed = time.monotonic()
    took: list[float] = []
    for page in attendees:
        while await frames(page) < 10:
            if time.monotonic() - killed >= 10:
                states = [await p.evaluate(PEERS) for p in pages]
                print(
                    f"killed at {killed:.2f}",
                    *said,
                    *states,
                    owner.output()[-3000:],
                    "-- survivor:",
                    survivor.output()[-8000:],
                    sep="\n",
                )
                raise AssertionError("no video on the survivor within 10 s")
            await asyncio.sleep(0.1)
        took.append(time.monotonic() - killed)
    print(f"video back after {max(took):.2f} s")
    assert await survivor.metric("tribune_media_peers") > 0  # the media runs there now

    await manager.reload()  # the question survived the kill, and any page finds it
    await expect(manager.get_by_test_id("connection")).to_have_text("connected")
    await expect(
        manager.get_by_test_id("question-row").filter(has_text="Will the replay be online?")
    ).to_be_visible()
    for page in pages:
        await page.context.close()
    await manager.context.close()

"""The dashboard in a real browser: it lists users, follows changes live, drives the emulator, and copes with
5,000 users. Every wait has a deadline of one second, the promise the page makes."""

from __future__ import annotations

import time

from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Page

from emulator.runtime import Runtime
from tests.dashboard.conftest import screenshot_path

ALICE = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"
BOB = "0b7c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d"
CAROL = "5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e"
LIVE = 1000  # ms: how soon a change must show on the page


def card(user_id: str) -> str:
    return f'.card[data-id="{user_id}"]'


async def open_dashboard(page: Page, server: TestServer) -> None:
    await page.goto(str(server.make_url("/_emulator/ui")))
    await page.wait_for_selector("#connection[data-state=live]", timeout=5000)


def add_people(runtime: Runtime) -> None:
    presence = runtime.tenant.presence
    presence.add_user(ALICE, "alice@contoso.com", "Alice Adams")
    presence.add_user(BOB, "bob@contoso.com", "Bob Brown")
    presence.add_user(CAROL, "carol@contoso.com", "Carol Clark")
    presence.set_session(BOB, "teams-desktop", "Busy", "InAMeeting", expires_in=None, source="teams")
    presence.set_session(CAROL, "teams-mobile", "Available", "Available", expires_in=3600, source="teams")
    presence.set_status_message(CAROL, "Working from the lake")
    presence.set_out_of_office(CAROL, True, "Back on Monday")


async def test_page_lists_every_user_with_presence(page: Page, server: TestServer, runtime: Runtime) -> None:
    add_people(runtime)
    await open_dashboard(page, server)
    await page.wait_for_selector(card(CAROL))
    names = await page.locator(".card .name").all_inner_texts()
    assert names == ["Alice Adams", "Bob Brown", "Carol Clark"]
    bob = page.locator(card(BOB))
    assert await bob.get_attribute("data-availability") == "Busy"
    assert "InAMeeting" in await bob.locator(".presence").inner_text()
    assert await bob.locator(".badge").get_attribute("data-kind") == "Busy"
    carol = page.locator(card(CAROL))
    assert "Working from the lake" in await carol.locator(".status").inner_text()
    assert "OutOfOffice" in await carol.locator(".presence").inner_text()
    assert await carol.locator(".badge").get_attribute("data-kind") == "OutOfOffice"
    assert "1:00:00 left" in await carol.locator(".sessions").inner_text()
    assert await page.locator("#count").inner_text() == "3 of 3 users"
    await page.screenshot(path=screenshot_path("users"))


async def test_set_presence_through_the_api_shows_within_a_second(page: Page, server: TestServer, api: TestClient,
                                                                    runtime: Runtime) -> None:
    add_people(runtime)
    await open_dashboard(page, server)
    await page.wait_for_selector(card(ALICE) + '[data-availability="Offline"]')
    started = time.monotonic()
    resp = await api.post(f"/v1.0/users/{ALICE}/presence/setPresence", json={
        "sessionId": "app", "availability": "DoNotDisturb", "activity": "Presenting", "expirationDuration": "PT1H"})
    assert resp.status == 200
    await page.wait_for_selector(card(ALICE) + '[data-availability="DoNotDisturb"]', timeout=LIVE)
    assert time.monotonic() - started < 1.0
    assert "Presenting" in await page.locator(card(ALICE)).inner_text()
    # A user the page has never seen appears as well.
    newcomer = "9e8d7c6b-5a49-4382-9160-7f6e5d4c3b2a"
    await api.post(f"/v1.0/users/{newcomer}/presence/setPresence", json={
        "sessionId": "app", "availability": "Away", "activity": "Away"})
    await page.wait_for_selector(card(newcomer) + '[data-availability="Away"]', timeout=LIVE)
    # Named later (through the control plane), the newcomer moves into alphabetical order.
    await api.post("/_emulator/users", json={"id": newcomer, "displayName": "Aaron Abbott"})
    await page.wait_for_function(
        "document.querySelector('.card .name').innerText === 'Aaron Abbott'", timeout=LIVE)
    # A reset empties the page.
    await api.post("/_emulator/reset")
    await page.wait_for_selector(".card", state="detached", timeout=LIVE)


async def test_clicking_drives_presence_that_the_api_then_reads(page: Page, server: TestServer, api: TestClient,
                                                                 runtime: Runtime) -> None:
    add_people(runtime)
    await open_dashboard(page, server)
    await page.click(card(ALICE))
    await page.wait_for_selector("#drawer:not([hidden])")

    # As an application, through Graph's setPresence.
    await page.check('input[name="s-kind"][value="application"]')
    await page.select_option("#a-pair", "Busy/InACall")
    await page.click("#f-app button[type=submit]")
    await page.wait_for_selector(card(ALICE) + '[data-availability="Busy"]', timeout=LIVE)
    body = await (await api.get(f"/v1.0/users/{ALICE}/presence")).json()
    assert (body["availability"], body["activity"]) == ("Busy", "InACall")

    # As a Teams client, with a pair setPresence cannot set.
    await page.check('input[name="s-kind"][value="teams"]')
    await page.select_option("#t-preset", "DoNotDisturb/Focusing")
    await page.fill("#t-session", "teams-web")
    await page.click("#f-teams button[type=submit]")
    await page.wait_for_selector(card(ALICE) + '[data-availability="DoNotDisturb"]', timeout=LIVE)
    body = await (await api.get(f"/v1.0/users/{ALICE}/presence")).json()
    assert (body["availability"], body["activity"]) == ("DoNotDisturb", "Focusing")

    # Preferred presence is shown over the sessions.
    await page.select_option("#p-pair", "BeRightBack/BeRightBack")
    await page.click("#f-preferred button[type=submit]")
    await page.wait_for_selector(card(ALICE) + " .preferred", timeout=LIVE)
    body = await (await api.get(f"/v1.0/users/{ALICE}/presence")).json()
    assert (body["availability"], body["activity"]) == ("BeRightBack", "BeRightBack")
    assert await page.locator(card(ALICE) + " .sessions.overridden").count() == 1

    # A status message, then out of office.
    await page.fill("#m-content", "Heads down until noon")
    await page.click("#f-status button[type=submit]")
    await page.wait_for_selector(card(ALICE) + " .status", timeout=LIVE)
    body = await (await api.get(f"/v1.0/users/{ALICE}/presence")).json()
    assert body["statusMessage"]["message"]["content"] == "Heads down until noon"
    await page.check("#o-on")
    await page.click("#f-oof button[type=submit]")
    await page.wait_for_selector(card(ALICE) + '[data-oof="true"]', timeout=LIVE)
    body = await (await api.get(f"/v1.0/users/{ALICE}/presence")).json()
    assert body["outOfOfficeSettings"]["isOutOfOffice"] is True
    await page.screenshot(path=screenshot_path("drawer"))

    # Clear the preferred presence, then end both sessions: the user reads Offline.
    await page.click("#p-clear")
    await page.wait_for_selector(card(ALICE) + " .preferred", state="detached", timeout=LIVE)
    for session_id in ("teams-web", "00000000-0000-4000-8000-00000000a99c"):
        await page.click(f'#d-sessions [data-end="{session_id}"]')
        await page.wait_for_selector(f'#d-sessions [data-end="{session_id}"]', state="detached", timeout=LIVE)
    body = await (await api.get(f"/v1.0/users/{ALICE}/presence")).json()
    assert body["availability"] == "Offline"

    # A refusal from the API is shown, not swallowed.
    await page.fill("#t-session", "")
    await page.select_option("#t-duration", "PT5M")
    await page.evaluate("document.getElementById('t-duration').add(new Option('bad', 'P1Y'))")
    await page.select_option("#t-duration", "P1Y")
    await page.click("#f-teams button[type=submit]")
    await page.wait_for_selector("#d-error:not([hidden])", timeout=LIVE)
    assert "InvalidArgument" in await page.locator("#d-error").inner_text()


async def test_advancing_the_clock_updates_countdowns_and_fades(page: Page, server: TestServer, api: TestClient,
                                                                runtime: Runtime) -> None:
    runtime.tenant.presence.add_user(ALICE, "alice@contoso.com", "Alice Adams")
    runtime.tenant.presence.set_session(ALICE, "app", "Available", "Available", expires_in=3600)
    await open_dashboard(page, server)
    alice = page.locator(card(ALICE))
    await page.wait_for_selector(card(ALICE) + '[data-availability="Available"]')
    assert "1:00:00 left" in await alice.inner_text()
    assert "inactive in 5:00" in await alice.inner_text()
    assert await page.locator("#clock-mode").inner_text() == "MANUAL"
    before = await page.locator("#clock-now").inner_text()

    await page.click('[data-advance="PT5M"]')
    await page.wait_for_function(
        "document.querySelector('.card .presence').innerText.includes('AvailableInactive')", timeout=LIVE)
    text = await alice.inner_text()
    assert "55:00 left" in text
    assert "away in 5:00" in text
    assert await page.locator("#clock-now").inner_text() != before

    await page.click('[data-advance="PT5M"]')
    await page.wait_for_selector(card(ALICE) + '[data-availability="Away"]', timeout=LIVE)
    assert "50:00 left" in await alice.inner_text()
    await page.screenshot(path=screenshot_path("faded"))

    # A clock step that changes nobody still moves every countdown: 50:00 - 1:00.
    await page.click('[data-advance="PT1M"]')
    await page.wait_for_function(
        "document.querySelector('.card .sessions').innerText.includes('49:00 left')", timeout=LIVE)

    await page.click('[data-advance="PT1H"]')
    await page.wait_for_selector(card(ALICE) + '[data-availability="Offline"]', timeout=LIVE)
    assert "no sessions" in await alice.inner_text()

    # Speed and pause go to the emulator's clock.
    await page.select_option("#clock-speed", "60")
    await page.wait_for_function("document.getElementById('clock-mode').innerText.includes('60')", timeout=LIVE)
    assert (await (await api.get("/_emulator/clock")).json())["speed"] == 60
    await page.click("#clock-pause")
    await page.wait_for_function("document.getElementById('clock-mode').innerText === 'MANUAL'", timeout=LIVE)
    assert (await (await api.get("/_emulator/clock")).json())["mode"] == "manual"


async def test_panels_show_what_the_emulator_offers(page: Page, server: TestServer, api: TestClient) -> None:
    await open_dashboard(page, server)
    for name, paths in (("subscriptions", ("/_emulator/subscriptions", "/v1.0/subscriptions")),
                        ("deliveries", ("/_emulator/deliveries",)),
                        ("lifecycle", ("/_emulator/deliveries?kind=lifecycle",)),
                        ("timeline", ("/_emulator/timeline?limit=100",)),
                        ("requests", ("/_emulator/requests?limit=200",))):
        available = any([(await api.get(path)).status == 200 for path in paths])
        await page.click(f'.tab[data-panel="{name}"]')
        if available:
            await page.wait_for_selector(f'[data-empty="{name}"], table[data-panel="{name}"]', timeout=3000)
        else:
            await page.wait_for_selector(f'[data-unavailable="{name}"]', timeout=3000)
    await page.screenshot(path=screenshot_path("panels"))


async def test_five_thousand_users_render_and_filter_within_a_second(page: Page, server: TestServer,
                                                                     runtime: Runtime) -> None:
    presence = runtime.tenant.presence
    pairs = [("Available", "Available"), ("Busy", "InACall"), ("DoNotDisturb", "Presenting"), ("Away", "Away")]
    for i in range(5000):
        user_id = f"00000000-0000-4000-8000-{i:012d}"
        presence.add_user(user_id, f"user{i:04d}@contoso.com", f"User {i:04d}")
        if i % 5:
            availability, activity = pairs[i % 4]
            presence.set_session(user_id, "teams", availability, activity, expires_in=3600, source="teams")

    started = time.monotonic()
    await page.goto(str(server.make_url("/_emulator/ui")))
    await page.wait_for_function("document.getElementById('count').innerText === '5,000 of 5,000 users'",
                                 timeout=LIVE)
    loaded = time.monotonic() - started
    assert loaded < 1.0, f"5,000 users took {loaded:.2f}s to show"
    # Windowed: only the rows in view are in the DOM.
    assert 0 < await page.locator(".card").count() < 100

    started = time.monotonic()
    await page.fill("#search", "user 4321")
    await page.wait_for_function("document.getElementById('count').innerText === '1 of 5,000 users'", timeout=LIVE)
    assert time.monotonic() - started < 1.0
    assert await page.locator(".card .name").all_inner_texts() == ["User 4321"]

    started = time.monotonic()
    await page.fill("#search", "")
    await page.click('.chip[data-filter="Busy"]')
    await page.wait_for_function("document.getElementById('count').innerText === '1,000 of 5,000 users'",
                                 timeout=LIVE)
    assert time.monotonic() - started < 1.0
    assert set(await page.locator(".card").evaluate_all("cs => cs.map(c => c.dataset.availability)")) == {"Busy"}

    # Scrolling to the end shows the last cards.
    await page.locator("#grid").evaluate("g => g.scrollTop = g.scrollHeight")
    await page.wait_for_selector(card("00000000-0000-4000-8000-000000004997"), timeout=LIVE)

    # A burst changing every user reaches the page as one coalesced update, within a second.
    await page.click('.chip[data-filter="Busy"]')
    events_before = await page.evaluate("window.dashboard.stats.events")
    started = time.monotonic()
    for i in range(5000):
        presence.set_session(f"00000000-0000-4000-8000-{i:012d}", "app", "DoNotDisturb", "Presenting",
                             expires_in=600)
    await page.wait_for_function(
        "document.querySelector('.chip[data-filter=DoNotDisturb] .n').innerText === '5000'", timeout=LIVE * 2)
    burst = time.monotonic() - started
    assert burst < 2.0, f"a 5,000-user burst took {burst:.2f}s to show"
    assert await page.evaluate("window.dashboard.stats.events") - events_before <= 3
    await page.screenshot(path=screenshot_path("5000-users"))

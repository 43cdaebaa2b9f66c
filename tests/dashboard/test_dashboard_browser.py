"""The dashboard in a real browser: it lists users, follows changes live, drives the emulator, and copes with
5,000 users. Every wait has a deadline of one second, the promise the page makes."""

from __future__ import annotations

import time
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Page

from emulator.clock import format_graph_datetime
from emulator.runtime import Runtime
from tests.dashboard.conftest import screenshot_path

ALICE = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"
BOB = "0b7c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d"
CAROL = "5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e"
LIVE = 1000  # ms: how soon a change must show on the page
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
# Users of the bundled office day (scenarios/default.yaml).
ADELE = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"
MEGAN = "66825e03-7ef5-42da-9069-4e4d3e6b9d28"
NESTOR = "9b2e4d6f-8a1c-4e3b-a5d7-c9f1e3b5a7d9"
ALEX = "2c4e6a8b-0d1f-4a3c-8e5b-7d9f1b3d5f7a"


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


async def test_page_lists_the_users_of_a_scenario(page: Page, server: TestServer, api: TestClient) -> None:
    await open_dashboard(page, server)
    await page.wait_for_selector("#empty:not([hidden])")
    # The bundled office day, loaded while the page is open: the page follows the reset it makes.
    resp = await api.post("/_emulator/scenario?clock=manual", data=(SCENARIOS / "default.yaml").read_bytes())
    assert resp.status == 200
    await page.wait_for_function("document.querySelectorAll('.card').length === 5", timeout=LIVE)
    names = await page.locator(".card .name").all_inner_texts()
    assert names == ["Adele Vance", "Alex Wilber", "Lee Gu", "Megan Bowen", "Nestor Wilke"]
    assert await page.locator("#count").inner_text() == "5 of 5 users"

    # Three minutes into the day: a call through an app, a status message, preferred presence.
    await api.post("/_emulator/clock/advance", data="PT3M")
    adele = page.locator(card(ADELE))
    await page.wait_for_selector(card(ADELE) + '[data-availability="Busy"]', timeout=LIVE)
    assert "InACall" in await adele.locator(".presence").inner_text()
    assert "13:00 left" in await adele.locator(".sessions").inner_text()  # PT15M set at 1m
    assert await adele.locator(".badge").get_attribute("data-kind") == "Busy"
    megan = page.locator(card(MEGAN))
    await page.wait_for_selector(card(MEGAN) + " .status", timeout=LIVE)
    assert await megan.locator(".status").inner_text() == "Working from the Oslo office today"
    nestor = page.locator(card(NESTOR))
    await page.wait_for_selector(card(NESTOR) + '[data-availability="DoNotDisturb"]', timeout=LIVE)
    assert "Preferred DoNotDisturb · 1:00:00 left" in await nestor.locator(".preferred").inner_text()
    assert "1:00:00 left" in await nestor.locator(".preferred").inner_text()
    assert await nestor.locator(".sessions.overridden").count() == 1
    alex = page.locator(card(ALEX))
    assert await alex.get_attribute("data-oof") == "true"
    assert await alex.get_attribute("data-availability") == "Offline"  # out of office, not signed in
    await page.screenshot(path=screenshot_path("users"))
    # Every card matches what Graph says of its user.
    for user_id in (ADELE, ALEX, MEGAN, NESTOR):
        body = await (await api.get(f"/v1.0/users/{user_id}/presence")).json()
        assert await page.locator(card(user_id)).get_attribute("data-availability") == body["availability"]


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


async def test_five_thousand_user_scenario_renders_and_filters_within_a_second(page: Page, server: TestServer,
                                                                               api: TestClient,
                                                                               runtime: Runtime) -> None:
    resp = await api.post("/_emulator/scenario?name=contact-centre.yaml",
                          data=(SCENARIOS / "contact-centre.yaml").read_bytes())
    assert resp.status == 200
    # 08:40: every agent's shift has begun, some are on a call.
    await api.post("/_emulator/clock/advance", data="PT1H40M")
    presence = runtime.tenant.presence
    assert len(presence.users) == 5001
    busy = sum(u.availability == "Busy" for u in presence.users.values())
    assert 0 < busy < 5000

    started = time.monotonic()
    await page.goto(str(server.make_url("/_emulator/ui")))
    await page.wait_for_function("document.getElementById('count').innerText === '5,001 of 5,001 users'",
                                 timeout=LIVE)
    loaded = time.monotonic() - started
    assert loaded < 1.0, f"5,001 users took {loaded:.2f}s to show"
    # Windowed: only the rows in view are in the DOM.
    assert 0 < await page.locator(".card").count() < 100

    started = time.monotonic()
    await page.fill("#search", "agent 4321")
    await page.wait_for_function("document.getElementById('count').innerText === '1 of 5,001 users'", timeout=LIVE)
    assert time.monotonic() - started < 1.0
    assert await page.locator(".card .name").all_inner_texts() == ["Agent 4321"]
    await page.fill("#search", "a9e70000-0000-4000-8000-000000000007")  # by id
    await page.wait_for_function("document.querySelector('.card .name')?.innerText === 'Agent 7'", timeout=LIVE)

    started = time.monotonic()
    await page.fill("#search", "")
    await page.click('.chip[data-filter="Busy"]')
    await page.wait_for_function(f"document.getElementById('count').innerText === '{busy:,} of 5,001 users'",
                                 timeout=LIVE)
    assert time.monotonic() - started < 1.0
    assert set(await page.locator(".card").evaluate_all("cs => cs.map(c => c.dataset.availability)")) == {"Busy"}

    # Scrolling to the end shows the last busy agent.
    last_busy = max((u for u in presence.users.values() if u.availability == "Busy"),
                    key=lambda u: int((u.display_name or "0").split()[-1]))  # natural order: Agent 2 < Agent 10
    await page.locator("#grid").evaluate("g => g.scrollTop = g.scrollHeight")
    await page.wait_for_selector(card(last_busy.id), timeout=LIVE)
    await page.screenshot(path=screenshot_path("5000-busy"))

    # Lunch from 12:00 (each agent's shift jitter later): after 12:31 all 5,000 are BeRightBack. The clock
    # jumps there in one advance, so the page takes the whole burst as one update.
    await page.click('.chip[data-filter="Busy"]')
    events_before = await page.evaluate("window.dashboard.stats.events")
    await api.post("/_emulator/clock/advance", data="PT3H51M")  # runs ~100,000 timeline entries
    started = time.monotonic()
    away = sum(u.availability in ("Away", "BeRightBack") for u in presence.users.values())
    assert away == 5000
    await page.wait_for_function(
        "document.querySelector('.chip[data-filter=Away] .n').innerText === '5000'", timeout=LIVE)
    assert time.monotonic() - started < 1.0
    assert await page.evaluate("window.dashboard.stats.events") - events_before <= 3
    await page.screenshot(path=screenshot_path("5000-users"))


async def test_subscription_deliveries_and_lifecycle_panels(page: Page, server: TestServer, api: TestClient,
                                                            runtime: Runtime) -> None:
    """A real subscription with a real receiver on 127.0.0.1 that fails its first notification: the panels
    show the subscription, the failed attempt with its next retry, the retry delivered, and a lifecycle event
    sent from the subscriptions panel."""
    answers = iter([500])

    async def hook(request: web.Request) -> web.Response:
        if "validationToken" in request.query:
            return web.Response(text=request.query["validationToken"], content_type="text/plain")
        return web.Response(status=next(answers, 202))

    receiver = web.Application()
    receiver.router.add_post("/hook", hook)
    runner = web.AppRunner(receiver)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
        expires = format_graph_datetime(runtime.tenant.clock.time() + 3000)
        resp = await api.post("/v1.0/subscriptions", json={
            "changeType": "updated", "resource": f"/communications/presences/{ADELE}", "notificationUrl": url,
            "lifecycleNotificationUrl": url, "expirationDateTime": expires, "clientState": "dashboard"})
        assert resp.status == 201, await resp.text()
        subscription_id = (await resp.json())["id"]
        await open_dashboard(page, server)
        await page.click('.tab[data-panel="subscriptions"]')
        await page.wait_for_selector(f'table[data-panel="subscriptions"] >> text={subscription_id}', timeout=3000)

        await api.post(f"/v1.0/users/{ADELE}/presence/setPresence", json={
            "sessionId": "app", "availability": "Busy", "activity": "InACall"})
        await page.click(f'[data-deliveries-of="{subscription_id}"]')
        failed = 'table[data-panel="deliveries"] td.bad >> text=failed'
        await page.wait_for_selector(failed, timeout=3000)
        row = page.locator('table[data-panel="deliveries"] tr', has=page.locator("td.bad"))
        assert "(in " in await row.inner_text()  # the next retry counts down on the emulated clock
        await api.post("/_emulator/clock/advance", data="PT5M")  # past the retry
        await page.wait_for_selector('table[data-panel="deliveries"] td.ok >> text=delivered', timeout=3000)

        await page.click('.tab[data-panel="subscriptions"]')
        await page.click(f'[data-lifecycle="reauthorizationRequired"][data-subscription="{subscription_id}"]')
        await page.click('.tab[data-panel="lifecycle"]')
        await page.wait_for_selector('table[data-panel="lifecycle"] >> text=reauthorizationRequired', timeout=3000)
        await page.screenshot(path=screenshot_path("lifecycle"))
    finally:
        await runner.cleanup()


async def test_requests_panel_shows_the_journal_tail(page: Page, server: TestServer, api: TestClient) -> None:
    await open_dashboard(page, server)
    await api.get(f"/v1.0/users/{ADELE}/presence", headers={"client-request-id": "dashboard-journal-1"})
    await api.post(f"/v1.0/users/{ADELE}/presence/setPresence", json={"sessionId": "app"})  # a 400
    await page.click('.tab[data-panel="requests"]')
    table = 'table[data-panel="requests"]'
    await page.wait_for_selector(f"{table} >> text=dashboard-journal-1", timeout=3000)
    rows = await page.locator(f"{table} tbody tr").all_inner_texts()
    assert "setPresence" in rows[0] and "400" in rows[0]  # newest first
    assert "GET" in rows[1] and "200" in rows[1]
    assert await page.locator(f"{table} tbody tr").first.locator("td.bad").count() == 1

"""The pytest plugin, run by pytester in a pytest process of its own, as a user's project runs it (entry point
and all)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ASYNCIO_AUTO = '[tool.pytest.ini_options]\nasyncio_mode = "auto"\nasyncio_default_fixture_loop_scope = "function"\n'


def readme_block(language: str, containing: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return next(block for block in blocks if containing in block)


def test_the_readme_example_runs_as_written(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(readme_block("toml", "asyncio_mode"))
    pytester.makepyfile(test_example=readme_block("python", "def test_"))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_fixtures_in_async_and_sync_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(ASYNCIO_AUTO)
    pytester.makepyfile(test_fixtures='''
        import json, threading, urllib.request
        import aiohttp
        import pytest

        ALICE = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"

        async def test_async_gets_the_in_loop_forms(graph_emulator, webhook_receiver):
            assert type(graph_emulator).__name__ == "Emulator"
            assert type(webhook_receiver).__name__ == "WebhookReceiver"
            assert graph_emulator.clock.mode == "manual"
            graph_emulator.call(lambda t: t.presence.set_session(ALICE, "s", "Busy", "InACall", expires_in=600))
            async with aiohttp.ClientSession() as http:
                resp = await http.post(webhook_receiver.url, params={"validationToken": "a+b c"})
                assert await resp.text() == "a+b c"
                await http.post(webhook_receiver.url, json={"value": [
                    {"resource": f"communications/presences/{ALICE}", "changeType": "updated"}]})
            assert (await webhook_receiver.next_notification(ALICE, timeout=2)).user_id == ALICE

        def test_sync_gets_the_thread_forms(graph_emulator, webhook_receiver):
            assert type(graph_emulator).__name__ == "EmulatorThread"
            assert type(webhook_receiver).__name__ == "WebhookReceiverThread"
            graph_emulator.assert_presence(ALICE, "Offline")  # a fresh state: nothing of the test above
            webhook_receiver.fail(500)
            request = urllib.request.Request(webhook_receiver.url, data=b'{"value": []}', method="POST")
            with pytest.raises(urllib.error.HTTPError):
                urllib.request.urlopen(request)

        @pytest.mark.parametrize("graph_emulator", [{"clock": "speed", "speed": 60}], indirect=True)
        def test_options_by_indirect_parameter(graph_emulator):
            assert graph_emulator.call(lambda t: (t.clock.mode, t.clock.speed)) == ("speed", 60)

        class TestOptionsFixture:
            @pytest.fixture
            def graph_emulator_options(self):
                return {"start": 1_790_000_000.0}

            async def test_overridden(self, graph_emulator):
                assert graph_emulator.clock.time() == 1_790_000_000.0
    ''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_async_fixtures_under_strict_asyncio_mode(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\nasyncio_mode = "strict"\n'
                               'asyncio_default_fixture_loop_scope = "function"\n')
    pytester.makepyfile(test_strict='''
        import pytest

        @pytest.mark.asyncio
        async def test_marked(graph_emulator, webhook_receiver):
            graph_emulator.advance("PT1H")
            assert webhook_receiver.url.startswith("http://127.0.0.1:")
    ''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_scenarios_by_marker_beside_the_test_or_by_options(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(ASYNCIO_AUTO)
    pytester.mkdir("scenarios")
    pytester.path.joinpath("scenarios", "office.yaml").write_text(
        "clock: {start: 2026-03-02T09:00:00Z}\n"
        "users:\n  - {id: fa8bf3dc-eca7-46b7-bad1-db199b62afc3, userPrincipalName: adele@contoso.com}\n"
        "timeline:\n  - {at: 5m, user: adele@contoso.com, setTeamsPresence: "
        "{sessionId: desktop, availability: Busy, activity: InAMeeting}}\n")
    pytester.makepyfile(test_scenario='''
        import pytest

        @pytest.mark.emulator_scenario("scenarios/office.yaml")
        def test_marker(graph_emulator):
            assert graph_emulator.now().isoformat() == "2026-03-02T09:00:00+00:00"
            graph_emulator.advance("PT5M")
            graph_emulator.assert_presence("adele@contoso.com", "Busy", "InAMeeting")

        @pytest.mark.emulator_scenario("scenarios/office.yaml")
        async def test_marker_in_an_async_test(graph_emulator):
            graph_emulator.advance("PT5M")
            graph_emulator.assert_presence("adele@contoso.com", "Busy", "InAMeeting")

        @pytest.mark.parametrize("graph_emulator", [{"scenario": "scenarios/office.yaml"}], indirect=True)
        def test_option(graph_emulator):
            assert len(graph_emulator.state()["users"]) == 1

        def test_none_without(graph_emulator):
            assert graph_emulator.state()["users"] == []
    ''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def docs_block(containing: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "usage.md").read_text(), re.S)
    return next(block for block in blocks if containing in block)


def test_the_subscriber_example_in_the_docs_runs_as_written(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(ASYNCIO_AUTO)
    pytester.makepyfile(test_subscriber=docs_block("async def test_a_call_is_notified") + '''

def test_the_same_from_a_plain_test(graph_emulator, webhook_receiver):
    import json, time, urllib.request
    expiry = graph_emulator.now() + timedelta(minutes=50)

    def post(path, body):
        request = urllib.request.Request(graph_emulator.base_url + path, data=json.dumps(body).encode(),
                                         method="POST", headers={"Content-Type": "application/json"})
        return urllib.request.urlopen(request).status

    assert post("/v1.0/subscriptions", {
        "changeType": "updated", "resource": f"/communications/presences/{ALICE}",
        "notificationUrl": webhook_receiver.url, "clientState": "s3cret",
        "expirationDateTime": expiry.isoformat().replace("+00:00", "Z")}) == 201
    assert [h.path for h in webhook_receiver.handshakes] == ["/notifications"]
    webhook_receiver.fail(503)
    post(f"/v1.0/users/{ALICE}/presence/setPresence",
         {"sessionId": "softphone", "availability": "Busy", "activity": "InACall"})
    assert webhook_receiver.next_notification(ALICE, timeout=5).client_state == "s3cret"
    deadline = time.monotonic() + 5  # the 503 reaches the emulator's delivery log a moment after the receiver
    while not graph_emulator.call(lambda t: t.delivery.log.query(status="failed")):
        assert time.monotonic() < deadline, "the failed delivery was never logged"
        time.sleep(0.005)
    webhook_receiver.answer()
    graph_emulator.advance("PT1M")  # the first retry falls due on the emulated clock and goes out
    retried = webhook_receiver.next_notification(ALICE, timeout=5)
    assert retried.subscription_id and retried["resourceData"]["id"] == ALICE
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)

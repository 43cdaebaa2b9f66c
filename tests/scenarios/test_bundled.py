"""Every bundled scenario validates and plays a whole emulated day on a manual clock, read over HTTP."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from aiohttp.test_utils import TestClient

from emulator.runtime import Runtime
from emulator.scenarios import default_scenario, json_schema, load_scenarios, use_scenario
from emulator.scenarios.model import MAX_USERS
from tests.scenarios.conftest import BUNDLED, Player
from tests.scenarios.conftest import hms as t

ADELE = "adele@contoso.com"
MEGAN = "megan@contoso.com"


def play(runtime: Runtime, name: str) -> None:
    use_scenario(runtime, load_scenarios([BUNDLED / name]), clock_mode="manual")


@pytest.mark.parametrize("path", sorted(BUNDLED.glob("*.yaml")), ids=lambda p: p.name)
def test_bundled_scenario_validates_and_says_what_it_exercises(path: object) -> None:
    assert hasattr(path, "read_text")
    text = path.read_text()
    assert text.startswith("# "), "each bundled scenario starts with a comment saying what it exercises"
    load_scenarios([path])  # type: ignore[list-item]


def test_every_bundled_scenario_has_a_day_test() -> None:
    tested = {"default.yaml", "aggregation.yaml", "expiry.yaml", "weekend.yaml", "contact-centre.yaml",
              "walkthrough.yaml",
              "lifecycle.yaml"}  # tests/scenarios/test_lifecycle.py, with a real receiver
    assert {p.name for p in BUNDLED.glob("*.yaml")} == tested


def test_the_package_ships_the_default_scenario_and_the_schema() -> None:
    shipped = resources.files("emulator.scenarios")
    assert shipped.joinpath("default.yaml").read_text() == (BUNDLED / "default.yaml").read_text()
    assert json.loads(shipped.joinpath("scenario.schema.json").read_text()) == json_schema(), (
        "regenerate it: python -m emulator schema > emulator/scenarios/scenario.schema.json")
    assert default_scenario().sources == ("scenarios/default.yaml",)


async def test_default_office_day(client: TestClient, runtime: Runtime) -> None:
    use_scenario(runtime, default_scenario(), clock_mode="manual")
    p = Player(client)
    await p.check(0, ADELE, "Available", "Available")
    await p.check(0, "alex@contoso.com", "Offline", "OutOfOffice")
    await p.check(0, "lee@contoso.com", "Offline", "Offline")
    await p.check(t("90s"), ADELE, "Busy", "InACall")
    await p.check(t("90s"), "lee@contoso.com", "Available", "Available")
    await p.check(t("5m30s"), "lee@contoso.com", "Available", "AvailableInactive")
    await p.check(t("10m30s"), "lee@contoso.com", "Away", "Away")
    await p.check(t("10m30s"), "nestor@contoso.com", "DoNotDisturb", "DoNotDisturb")
    await p.check(t("16m"), ADELE, "Available", "Available")  # the softphone's PT15M session lapsed
    await p.check(t("50m"), ADELE, "Busy", "InACall")
    await p.check(t("1h3m"), "nestor@contoso.com", "Available", "Available")  # preferred presence expired
    await p.check(t("1h5m"), MEGAN, "Busy", "InAMeeting")
    await p.check(t("1h30m"), MEGAN, "Available", "Available")
    body = await p.presence(MEGAN)
    assert body["statusMessage"] == {"message": {"content": "Working from the Oslo office today",
                                                 "contentType": "text"}}
    await p.check(t("4h1m"), "lee@contoso.com", "Available", "Available")
    await p.check(t("5h"), "lee@contoso.com", "Available", "Available")  # re-set without idleFade
    await p.to(t("8h2m"))
    assert (await p.presence(MEGAN))["statusMessage"] is None
    for user in (ADELE, MEGAN, "lee@contoso.com", "nestor@contoso.com"):
        await p.check(t("8h30m"), user, "Offline", "Offline")
    await p.check(t("24h"), ADELE, "Offline", "Offline")
    # Not restricted: any other GUID is a user who never signed in.
    await p.check(t("24h"), "0b5e6a7c-1d2e-4f30-8a9b-0c1d2e3f4a5b", "Offline", "Offline")


async def test_aggregation_day(client: TestClient, runtime: Runtime) -> None:
    play(runtime, "aggregation.yaml")
    p = Player(client)
    diego = "diego@contoso.com"
    for at, availability, activity in [
        ("0s", "Available", "Available"),
        ("10m", "Busy", "InAMeeting"),
        ("20m", "DoNotDisturb", "Presenting"),
        ("30m", "DoNotDisturb", "Presenting"),
        ("1h19m59s", "DoNotDisturb", "Presenting"),
        ("1h20m", "Available", "Available"),
        ("2h", "BeRightBack", "BeRightBack"),
        ("2h30m", "Available", "Available"),
        ("3h", "BeRightBack", "BeRightBack"),
        ("4h", "Busy", "Busy"),
        ("4h10m", "Busy", "InACall"),
        ("4h20m", "Busy", "InAMeeting"),
        ("10h", "Offline", "Offline"),
        ("24h", "Offline", "Offline"),
    ]:
        await p.check(t(at), diego, availability, activity)
    resp = await client.get("/v1.0/users/0b5e6a7c-1d2e-4f30-8a9b-0c1d2e3f4a5b/presence")
    assert resp.status == 404  # restrictUsers: only listed users exist


async def test_expiry_day(client: TestClient, runtime: Runtime) -> None:
    play(runtime, "expiry.yaml")
    p = Player(client)
    checks = [
        ("4m59s", "fade", "Available", "Available"), ("4m59s", "lapse", "Busy", "InACall"),
        ("5m", "fade", "Available", "AvailableInactive"), ("5m", "lapse", "Offline", "Offline"),
        ("10m", "fade", "Away", "Away"), ("29m59s", "fade", "Away", "Away"),
        ("30m", "fade", "Offline", "Offline"),
        ("59m", "pref", "Available", "Available"),
        ("1h", "pref", "Busy", "Busy"), ("1h", "renew", "Available", "Available"),
        ("1h1m", "renew", "Offline", "Offline"),
        ("1h59m59s", "teams", "Available", "Available"), ("2h", "teams", "Offline", "Offline"),
        ("2h59m59s", "pref", "Busy", "Busy"), ("3h", "pref", "Available", "Available"),
        ("4h", "pref", "DoNotDisturb", "DoNotDisturb"), ("24h", "pref", "DoNotDisturb", "DoNotDisturb"),
        ("28h", "pref", "Available", "Available"),
    ]
    statuses = {"59m": "In the lab", "1h": None, "2h": "Back after the all-hands", "3h59m59s": "Back after the "
                "all-hands", "4h": None}
    moments = sorted({*(at for at, *_ in checks), *statuses}, key=t)
    for moment in moments:
        for at, user, availability, activity in checks:
            if at == moment:
                await p.check(t(at), f"{user}@contoso.com", availability, activity)
        if moment in statuses:
            await p.to(t(moment))
            message = (await p.presence("status@contoso.com"))["statusMessage"]
            expected = statuses[moment]
            assert (message or {}).get("message", {}).get("content") == expected, (moment, message)


async def test_weekend_out_of_office(client: TestClient, runtime: Runtime) -> None:
    play(runtime, "weekend.yaml")
    p = Player(client)
    isaiah = "isaiah@contoso.com"
    await p.check(0, "johanna@contoso.com", "Offline", "OutOfOffice")
    await p.check(0, isaiah, "Offline", "Offline")
    await p.check(t("1h"), isaiah, "Available", "Available")          # Monday 08:00
    await p.check(t("10h"), isaiah, "Offline", "Offline")             # Monday 17:00
    await p.check(t("3d1h"), isaiah, "Available", "Available")        # Thursday 08:00
    await p.check(t("4d9h30m"), isaiah, "Available", "OutOfOffice")   # Friday 16:30
    body = await p.presence(isaiah)
    assert body["outOfOfficeSettings"] == {"isOutOfOffice": True, "message": "Away for the weekend, back Monday."}
    await p.check(t("4d10h"), isaiah, "Offline", "OutOfOffice")       # Friday 17:00
    await p.check(t("5d3h"), isaiah, "Available", "OutOfOffice")      # Saturday 10:00, on the phone
    await p.check(t("5d3h30m"), isaiah, "Offline", "OutOfOffice")     # its session lapsed
    await p.check(t("7d55m"), isaiah, "Offline", "Offline")           # Monday 07:55, back
    assert (await p.presence(isaiah))["outOfOfficeSettings"] == {"isOutOfOffice": False, "message": None}
    await p.check(t("7d1h"), isaiah, "Available", "Available")


async def test_contact_centre_day(client: TestClient, runtime: Runtime) -> None:
    play(runtime, "contact-centre.yaml")
    p = Player(client)

    async def agents(first: int, count: int) -> list[tuple[str, str]]:
        ids = [f"agent{n:04d}@contoso.com" for n in range(first, first + count)]
        resp = await client.post("/v1.0/communications/getPresencesByUserId", json={"ids": ids})
        assert resp.status == 200, await resp.text()
        return [(v["availability"], v["activity"]) for v in (await resp.json())["value"]]

    await p.check(0, "supervisor@contoso.com", "Available", "Available")
    await p.to(t("59m"))
    assert set(await agents(1, 650)) == {("Offline", "Offline")}  # listed crowd members, not yet signed in
    await p.to(t("1h30m"))  # every shift has started (jitter < 30m): signed in, some already on a call
    assert set(await agents(4351, 650)) == {("Available", "Available"), ("Busy", "InACall")}
    await p.to(t("2h"))
    mix = await agents(1, 650)
    assert ("Busy", "InACall") in mix and ("Available", "Available") in mix
    await p.to(t("5h35m"))  # lunch: preferred BeRightBack for 45 minutes from each member's 12:00
    assert set(await agents(1, 650)) == {("BeRightBack", "BeRightBack")}
    await p.to(t("11h"))
    assert set(await agents(4351, 650)) == {("Offline", "Offline")}
    await p.check(t("24h"), "supervisor@contoso.com", "Offline", "Offline")
    assert len(runtime.tenant.presence.users) == 5001 <= MAX_USERS


async def test_walkthrough(client: TestClient, runtime: Runtime) -> None:
    play(runtime, "walkthrough.yaml")
    p = Player(client)
    await p.check(0, ADELE, "Available", "Available")
    await p.check(0, MEGAN, "Offline", "OutOfOffice")
    await p.check(t("10m"), ADELE, "Busy", "InACall")
    await p.check(t("25m"), ADELE, "Available", "Available")
    await p.to(t("30m"))
    assert (await p.presence(ADELE))["statusMessage"] == {
        "message": {"content": "Writing the quarterly report", "contentType": "text"}}
    await p.to(t("2h30m"))
    assert (await p.presence(ADELE))["statusMessage"] is None
    await p.check(t("8h"), ADELE, "Offline", "Offline")

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient

BUNDLED = Path(__file__).resolve().parents[2] / "scenarios"


class Player:
    """Moves a served emulator's manual clock through a scenario and reads presence over HTTP."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.elapsed = 0.0

    async def to(self, offset: float) -> None:
        assert offset >= self.elapsed, "checks must be in time order"
        if offset > self.elapsed:
            resp = await self.client.post("/_emulator/clock/advance", data=f"PT{offset - self.elapsed:g}S")
            assert resp.status == 200, await resp.text()
            self.elapsed = offset

    async def presence(self, user: str) -> dict[str, object]:
        resp = await self.client.get(f"/v1.0/users/{user}/presence")
        assert resp.status == 200, await resp.text()
        body: dict[str, object] = await resp.json()
        return body

    async def check(self, offset: float, user: str, availability: str, activity: str) -> None:
        await self.to(offset)
        body = await self.presence(user)
        assert (body["availability"], body["activity"]) == (availability, activity), (offset, user, body)


def hms(text: str) -> float:
    """Seconds in '1h2m3s' style text, for readable check tables."""
    from emulator.scenarios.model import parse_duration
    return parse_duration(text)

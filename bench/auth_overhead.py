"""What auth costs GET presence: decode and strict modes against off mode (the default).

    python -m bench.auth_overhead [--requests N] [--rounds R]

Three apps in one process, measured in interleaved rounds (so machine noise hits all alike); prints each
one's requests/second per round and the median ratio against the app in off mode. Auth is no stage of
its own (the pipeline calls ``access.admit``), so off mode, which checks nothing and only decodes the token
for ``/me``, is the floor: what it costs over no auth at all is one call and a cached token look-up.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import aiohttp
from aiohttp import web

from emulator.app import create_app
from emulator.runtime import Runtime
from emulator.tenant import TenantSettings
from emulator.tokens import TokenIssuer, TokenRequest

USER = "fa8bf3dc-eca7-46b7-bad1-db199b62afc3"


def build(auth: str) -> web.Application:
    return create_app(Runtime(TenantSettings(clock_mode="manual", auth=auth)))  # type: ignore[arg-type]


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def rate(session: aiohttp.ClientSession, url: str, headers: dict[str, str], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        async with session.get(url, headers=headers) as resp:
            await resp.read()
            assert resp.status == 200
    return n / (time.perf_counter() - start)


async def main(requests: int, rounds: int) -> None:
    token = TokenIssuer.shared().mint(TokenRequest(oid=USER, scp=("Presence.Read.All",)),
                                      tenant_id=TenantSettings().tenant_id, default_app_id="bench", now=time.time())
    variants = {"auth off": build("off"), "auth decode": build("decode"), "auth strict": build("strict")}
    servers = {name: await serve(app) for name, app in variants.items()}
    headers = {"Authorization": f"Bearer {token}"}
    results: dict[str, list[float]] = {name: [] for name in variants}
    async with aiohttp.ClientSession() as session:
        for _, base in servers.values():  # warm-up
            await rate(session, f"{base}/v1.0/users/{USER}/presence", headers, 200)
        for _ in range(rounds):
            for name, (_, base) in servers.items():
                results[name].append(await rate(session, f"{base}/v1.0/users/{USER}/presence", headers, requests))
    baseline = statistics.median(results["auth off"])
    for name, rates in results.items():
        ratios = [r / b for r, b in zip(rates, results["auth off"], strict=True)]
        median = statistics.median(rates)
        print(f"{name:14s} median {median:7.0f} req/s  ratio {median / baseline:.3f}"
              f"  (per-round ratios {min(ratios):.3f}-{max(ratios):.3f})")
    for runner, _ in servers.values():
        await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds))

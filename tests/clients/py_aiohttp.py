"""A client built on aiohttp's ClientSession: the probe call, configurable right or wrong."""
from __future__ import annotations

import asyncio

import aiohttp
from multidict import CIMultiDict

import clientargs


async def run(args) -> list[int]:
    call = args.call
    statuses: list[int] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        for _ in range(args.requests):
            lines, query = clientargs.credential(args, args.key)
            headers = CIMultiDict(lines)  # a multidict: two pairs of one name go out as two lines
            headers["Content-Type"] = call["content_type"]
            status = 0
            for _ in range(args.retries + 1):
                async with session.request(call["method"], args.base + call["path"], params=query, headers=headers,
                                           data=call["body"].encode()) as resp:
                    status = resp.status
                    await resp.read()
                if status not in (401, 403):
                    break
            statuses.append(status)
            if status >= 400:
                break
    return statuses


def main() -> None:
    args = clientargs.parse()
    clientargs.finish(args, asyncio.run(run(args)))


if __name__ == "__main__":
    main()

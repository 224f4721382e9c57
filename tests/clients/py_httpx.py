"""A client built on `httpx`: the probe call, configurable right or wrong."""
from __future__ import annotations

import httpx

import clientargs


def main() -> None:
    args = clientargs.parse()
    call = args.call
    statuses: list[int] = []
    with httpx.Client(timeout=10) as client:
        for _ in range(args.requests):
            lines, query = clientargs.credential(args, args.key)
            lines.append(("Content-Type", call["content_type"]))
            status = 0
            for _ in range(args.retries + 1):
                # A list of pairs: httpx sends every pair as its own header line.
                status = client.request(call["method"], args.base + call["path"], params=query, headers=lines,
                                        content=call["body"].encode()).status_code
                if status not in (401, 403):
                    break
            statuses.append(status)
            if status >= 400:
                break
    clientargs.finish(args, statuses)


if __name__ == "__main__":
    main()

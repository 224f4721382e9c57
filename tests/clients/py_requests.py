"""A client built on `requests`: the probe call, with every behaviour the gate judges configurable."""
from __future__ import annotations

import time

import requests

import clientargs

MAX_WAIT = 5.0


def main() -> None:
    args = clientargs.parse()
    call = args.call
    session = requests.Session()
    token = args.key

    def exchange() -> str:
        ex = call["exchange"]
        r = session.request(ex["method"], args.base + ex["path"], data=clientargs.exchange_body(args),
                            headers={"Content-Type": ex["content_type"]}, timeout=10)
        r.raise_for_status()
        return r.json()[ex["token_field"]]

    def send(tok: str) -> int:
        lines, query = clientargs.credential(args, tok)
        headers = dict(lines)  # requests sends one line per name: `two-lines` is not expressible here
        headers["Content-Type"] = call["content_type"]
        for attempt in range(args.retry_5xx + 1):
            try:
                r = session.request(call["method"], args.base + call["path"], params=query, headers=headers,
                                    data=clientargs.body(args, tok), timeout=10)
            except requests.ConnectionError:
                if attempt == args.retry_5xx:
                    raise
                continue
            if r.status_code != 503 or attempt == args.retry_5xx:
                break
        if r.status_code == 429:
            send.retry_after = float(r.headers.get("Retry-After", "1"))
        return r.status_code

    if args.exchange == "once":
        token = exchange()
    statuses: list[int] = []
    for _ in range(args.requests):
        if args.exchange == "each":
            token = exchange()
        status = send(token)
        for _ in range(args.retries):
            if status not in (401, 403):
                break
            status = send(token)
        if status == 429 and args.on_429 == "wait":
            time.sleep(min(send.retry_after, MAX_WAIT))
            status = send(token)
        statuses.append(status)
        if status in (401, 403) or (status == 429 and args.on_429 == "stop"):
            break
    clientargs.finish(args, statuses)


if __name__ == "__main__":
    main()

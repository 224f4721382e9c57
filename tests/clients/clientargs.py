"""Options shared by the Python test clients: how a client library is configured, right or wrong.

A client reads `ID_API_KEY` and `ID_BASE_URL` as the gate exports them; the first argument is a
JSON object saying which provider call to make (env prefix, header, scheme, probe, exchange).
"""
from __future__ import annotations

import argparse
import json
import os
import sys


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The call description and the (mis)configuration flags."""
    p = argparse.ArgumentParser()
    p.add_argument("call", type=json.loads, help="JSON: env, header, scheme, method, path, content_type, body, query_name, exchange")
    p.add_argument("--scheme", help="scheme keyword the client is configured with (default: the documented one)")
    p.add_argument("--place", choices=["header", "query", "both", "two-lines", "cookie", "body"], default="header")
    p.add_argument("--case", choices=["keep", "lower"], default="keep")
    p.add_argument("--quote", action="store_true", help='send `Bearer "KEY"` (a quoted token: not token68)')
    p.add_argument("--key-env", help="read the key from this variable instead of ID_API_KEY (a misconfigured client)")
    p.add_argument("--requests", type=int, default=1, help="how many calls the client makes")
    p.add_argument("--retries", type=int, default=0, help="retries of a call refused with 401 or 403 (a retry storm)")
    p.add_argument("--retry-5xx", type=int, default=0, help="retries of a call answered 503 or reset")
    p.add_argument("--on-429", choices=["wait", "ignore", "stop"], default="stop")
    p.add_argument("--exchange", choices=["none", "once", "each"], default="none")
    p.add_argument("--password-too", action="store_true", help="also send username and password with the token")
    p.add_argument("--expect", type=int, help="exit 1 unless the last call got this status")
    args = p.parse_args(argv)
    call = args.call
    args.env_prefix = call["env"]
    args.key = os.environ[f"{call['env']}_API_KEY"]
    args.base = os.environ[f"{call['env']}_BASE_URL"].rstrip("/")
    args.scheme = args.scheme or call["scheme"]
    if args.key_env:
        args.key = os.environ[args.key_env]
    if args.case == "lower":
        args.key = args.key.lower()
    return args


def credential(args: argparse.Namespace, token: str) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """Header lines and query parameters carrying the token, as the client is configured."""
    value = f'{args.scheme} "{token}"' if args.quote else f"{args.scheme} {token}"
    header = args.call["header"]
    lines: list[tuple[str, str]] = []
    query: dict[str, str] = {}
    if args.place in ("header", "both", "two-lines"):
        lines.append((header, value))
    if args.place == "two-lines":
        lines.append((header, value))
    if args.place in ("query", "both"):
        query[args.call["query_name"]] = token
    if args.place == "cookie":
        lines.append(("Cookie", f"{args.call['query_name']}={token}"))
    if args.password_too:
        lines.append(("X-Username", os.environ[f"{args.env_prefix}_USERNAME"]))
        lines.append(("X-Password", os.environ[f"{args.env_prefix}_PASSWORD"]))
    return lines, query


def body(args: argparse.Namespace, token: str) -> bytes:
    """The probe's body; with --place body, the token added as a field (JSON or form)."""
    raw = args.call["body"]
    if args.place != "body":
        return raw.encode()
    name = args.call["query_name"]
    if args.call["content_type"].startswith("application/json"):
        data = json.loads(raw or "{}")
        data[name] = token
        return json.dumps(data).encode()
    return (raw + ("&" if raw else "") + f"{name}={token}").encode()


def exchange_body(args: argparse.Namespace) -> bytes:
    """The username-and-password body of the token exchange."""
    ex = args.call["exchange"]
    return json.dumps({ex["username_field"]: os.environ[f"{args.env_prefix}_USERNAME"],
                       ex["password_field"]: os.environ[f"{args.env_prefix}_PASSWORD"]}).encode()


def finish(args: argparse.Namespace, statuses: list[int]) -> None:
    """Print the statuses; exit 1 when --expect is not met."""
    print("statuses:", " ".join(map(str, statuses)))
    if args.expect is not None and (not statuses or statuses[-1] != args.expect):
        print(f"expected {args.expect}", file=sys.stderr)
        sys.exit(1)

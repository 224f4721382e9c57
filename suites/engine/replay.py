"""Replay one generated request: `python -m suites.engine.replay --provider ID [--base-url URL] TEMPLATE`.

TEMPLATE is the JSON a failure prints (placeholders and mutations, never a key). The key comes
from the environment (`ID_API_KEY`, ...), or, when none is set and the base URL is a running mock,
from the mock's admin API. Prints the request (keys as placeholders), what the spec prescribes
for it, and the response (redacted).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

from specs import SpecError, get_spec

from .._admin import AdminError, MockAdmin
from .._replay import response_text
from .._secret import redact
from .._target import check_base_url, live_target, mock_target
from .._transport import Connection
from ._oracle import View, body_names, decide, header_values, query_names
from ._strategies import alphabet_of
from ._template import Context, Template


def _fail(message: str) -> int:
    print(f"replay: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Replay one request; 0 when it was sent and answered, 2 on a usage error."""
    parser = argparse.ArgumentParser(prog="python -m suites.engine.replay", description=__doc__.splitlines()[0])
    parser.add_argument("--provider", required=True, help="the provider id (cloro, crux, ...)")
    parser.add_argument("--base-url", help="where to send it (default: ID_BASE_URL, else the spec's live URL)")
    parser.add_argument("template", help="the request JSON a failure printed")
    args = parser.parse_args(argv)
    try:
        spec = get_spec(args.provider)
    except (KeyError, SpecError) as err:
        return _fail(str(err).strip("'\""))
    try:
        template = Template.from_json(json.loads(args.template))
    except (ValueError, KeyError, TypeError) as err:
        return _fail(f"TEMPLATE is not a request this engine printed: {err}")
    try:
        target = live_target(spec, os.environ, args.base_url)
        if "valid" not in target.credentials:
            url = check_base_url(args.base_url or target.base_url)
            target = mock_target(spec, url, MockAdmin(url, timeout=3.0).keys())
    except ValueError as err:
        return _fail(str(err))
    except AdminError:
        return _fail(f"{spec.credential_env('valid')} is not set and {target.base_url} is no mock whose admin API gives the keys")
    with Connection(target.base_url) as conn:
        keys = {s: v.reveal().encode("utf-8") for s, v in target.credentials.items()}
        try:
            request = template.render(Context(keys, alphabet_of(spec), conn.host_header, conn.prefix))
        except KeyError as err:
            return _fail(f"the request needs a key the target does not have: {err}")
        response = conn.send(request)
    labels = {s: v.placeholder().strip("<>") for s, v in target.credentials.items()}
    view = View(header_values(spec, request.headers), query_names(request.target), body_names(spec.probe.content_type, request.body))
    print("request:")
    print("  " + template.show(labels).replace("\n", "\n  "))
    if template.head is None:
        print(f"the spec's outcome for it: {decide(spec, view, dict(target.credentials))}")
    print("response:")
    print("  " + redact(response_text(response), target.secrets()).replace("\n", "\n  "))
    return 0


if __name__ == "__main__":
    sys.exit(main())

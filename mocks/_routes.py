"""Which operation a request is for: the probe, a spec route, a known path with another method, or
no route at all. Pure matching, no I/O; the decision for each operation is built in mocks/_decide.py.

The providers authenticate every request ("You need to be authenticated for all API requests",
crux's page), so routing only picks what an authenticated request gets: the probe's or a route's
success, 405 with Allow for a known path and another method (RFC 9110 §15.5.6), the spec's
`not_found` for anything else. Only a route marked `auth: false` is served without a credential.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from specs import ProviderSpec, Route, spec_regex

# RFC 9110 §9.3.2: "The HEAD method is identical to GET except that the server MUST NOT send content".
HEAD_AS = {"HEAD": "GET"}


@dataclass(frozen=True, eq=False)
class Operation:
    """What an authenticated request is answered with, and what it needs besides a live key.

    `answer` names the table entry sent once the request is authorised; `scope` is the scope the
    key must hold (None: any key); `probe` marks the probe (its scope is precomputed per key, its
    body has the probe's bad_body check and binding); `request` is a route's body check.
    """

    name: str
    answer: str
    scope: str | None = None
    auth: bool = True
    probe: bool = False
    request: Any = None  # specs RouteRequest, or None
    route: Route | None = None
    counts: bool = True  # False: a request the server refused before auth; judged, not rate-counted


def answer_name(route: Route) -> str:
    """The table entry of a route's success answer."""
    return f"route:{route.id}"


def allow_name(methods: tuple[str, ...]) -> str:
    """The table entry of the 405 answer for a path whose methods are these."""
    return "method_not_allowed:" + ",".join(methods)


class Router:
    """Matches (method, raw target) to a decider built for the operation it names.

    Literal paths are one dict lookup; templated ones are tried fewest variables first, so
    `/v1/tasks/mine` wins over `/v1/tasks/{id}` as OpenAPI's path matching says.
    """

    def __init__(self, spec: ProviderSpec, build: Callable[[Operation], Any], allow: Callable[[tuple[str, ...]], str]):
        probe = spec.probe
        by_path: dict[str, dict[str, Operation]] = {}
        by_template: dict[str, tuple[Any, dict[str, Operation]]] = {}
        by_path.setdefault(probe.path, {})[probe.method] = Operation("probe", "success", probe.scope, probe=True)
        routes = sorted(spec.routes, key=lambda r: len(r.variables))  # stable: the spec's order otherwise
        for r in routes:
            op = Operation(r.id, answer_name(r), r.scope, r.auth, request=r.request, route=r)
            if r.variables:
                # RE2: matching time linear in the path, whatever the spec's template.
                slot = by_template.setdefault(r.shape, (spec_regex(r.regex().pattern), {}))[1]
            else:
                slot = by_path.setdefault(r.path, {})
            slot.setdefault(r.method, op)  # the probe keeps its own method and path
        self._build = build
        self.not_found = build(Operation("not_found", "not_found"))
        self._literal = {path: self._compile(methods, allow) for path, methods in by_path.items()}
        self._templates = [(rx, self._compile(methods, allow)) for rx, methods in by_template.values()]

    def _compile(self, methods: Mapping[str, Operation], allow: Callable[[tuple[str, ...]], str]) -> tuple[dict[str, Any], Any]:
        """Per path: a decider per method, and the 405 decider (authenticated, then Allow)."""
        listed = tuple(sorted(methods))
        deciders = {m: self._build(op) for m, op in methods.items()}
        return deciders, self._build(Operation("method_not_allowed", allow(listed)))

    def select(self, method: str, target: str) -> Any:
        """The decider for a request: its operation's, the path's 405, or not_found."""
        path = target.split("?", 1)[0]
        slot = self._literal.get(path)
        if slot is None:
            for rx, candidate in self._templates:
                if rx.fullmatch(path) is not None:
                    slot = candidate
                    break
            else:
                return self.not_found
        deciders, wrong_method = slot
        found = deciders.get(method)
        if found is None and method in HEAD_AS:
            found = deciders.get(HEAD_AS[method])
        return wrong_method if found is None else found

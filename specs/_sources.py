"""Lint: every rule says where it comes from, in a way a reader can check.

- `rfc` rules name their section ("RFC 9110 §11.6.1"); `inferred` rules give a reason;
  a 401 goes with a challenge (RFC 9110 §11.6.1). These need the spec alone: the loader runs them.
- `documented` rules quote the provider's page: some 12+ character fragment of the source stands
  in the page copy (`seed`, a file in `pages/` beside the spec). The page copy is optional: without
  one the quote lint is skipped for that spec, with a note saying so. `python -m specs check` and
  the tests run this same function.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

from ._model import FAILURE_CLASSES, ProviderSpec, Rule

PAGES = "pages"
_RFC_SECTION = re.compile(r"RFC \d{4}")
MIN_REASON = 11
MIN_FRAGMENT = 12
# A provider's auth page is tens of KiB; what lies past this bound is not read.
MAX_PAGE = 4 * 1024 * 1024


def rules(spec: ProviderSpec) -> Iterator[tuple[list[Any], Rule]]:
    """Every rule of a spec with its YAML path."""
    c = spec.credential
    yield ["credential", "rule"], c.rule
    yield ["credential", "token", "rule"], c.token.rule
    yield ["credential", "scheme_case", "rule"], c.scheme_rule
    yield ["credential", "separator", "rule"], c.separator_rule
    if c.duplicates_rule is not None:
        yield ["credential", "duplicates", "rule"], c.duplicates_rule
    if c.challenge:
        yield ["credential", "challenge", "rule"], c.challenge.rule
    yield ["probe", "rule"], spec.probe.rule
    yield ["probe", "success", "rule"], spec.probe.success.rule
    yield ["keys", "rule"], spec.keys.rule
    for name in ("scopes", "exchange", "binding", "rate_limit"):
        part = getattr(spec, name)
        if part is not None:
            yield [name, "rule"], part.rule
    for i, route in enumerate(spec.routes):
        if route.source is not None:
            yield ["routes", i, "source"], route.source
    if spec.not_found is not None:
        yield ["not_found", "rule"], spec.not_found.rule
    for klass, f in spec.failures.items():
        yield ["failures", klass, "rule"], f.rule
        yield ["failures", klass, "body_rule"], f.body_rule
        if f.message_rule:
            yield ["failures", klass, "message_rule"], f.message_rule
        if getattr(f, "trigger", None) is not None:
            yield ["failures", klass, "trigger"], f.trigger
        for v, r in f.variants.items():
            yield ["failures", klass, "variants", v, "rule"], r.rule
            trigger = getattr(r, "trigger", None)
            if trigger is not None and trigger is not getattr(f, "trigger", None):
                yield ["failures", klass, "variants", v, "trigger"], trigger


def lint(spec: ProviderSpec) -> list[tuple[list[Any], str]]:
    """(yaml path, problem) for rules that do not say where they come from; the spec alone decides."""
    problems: list[tuple[list[Any], str]] = []
    for where, rule in rules(spec):
        if rule.strength == "rfc" and not _RFC_SECTION.search(rule.source):
            problems.append((where + ["source"], "an rfc rule names its RFC and section (\"RFC 9110 §11.6.1: ...\")"))
        if rule.strength == "inferred" and not (rule.reason and len(rule.reason.strip()) >= MIN_REASON):
            problems.append((where + ["reason"], f"an inferred rule says why in a reason of {MIN_REASON}+ characters"))
    for klass, failure in spec.failures.items():
        if klass not in FAILURE_CLASSES:
            problems.append((["failures", klass], f"{klass!r} is not a failure class; known: {', '.join(FAILURE_CLASSES)}"))
        # A bare key (scheme: null, `X-API-Key: <key>`) has no auth-scheme a challenge could name.
        if failure.status == 401 and spec.credential.challenge is None and spec.credential.scheme is not None:
            problems.append((["failures", klass, "status"], "a 401 needs credential.challenge, the WWW-Authenticate value (RFC 9110 §11.6.1)"))
    return problems


def plain(text: str) -> str:
    """Markdown reduced to comparable prose: links to their text, no emphasis, folded space."""
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"^```.*$", "", text, flags=re.M)
    text = text.replace("**", "").replace("`", "").replace("\\", "").replace("→", "->")
    return re.sub(r"\s+", " ", text).strip().lower()


def page_path(spec: ProviderSpec) -> Path | None:
    """Where the spec's page copy lives (`pages/<seed>` beside the spec), or None without a seed."""
    return Path(spec.path).parent / PAGES / spec.seed if spec.seed else None


def quote_problems(spec: ProviderSpec) -> tuple[list[tuple[list[Any], str]], str | None]:
    """(problems, note): documented rules whose source is not on the page copy; a note when there is no copy."""
    page_file = page_path(spec)
    if page_file is None:
        return [], "no page copy (seed): documented rules' quotes not checked"
    try:
        with open(page_file, "rb") as f:
            page = plain(f.read(MAX_PAGE).decode("utf-8", errors="replace"))
    except OSError:
        return [], f"no page copy at {page_file}: documented rules' quotes not checked"
    problems: list[tuple[list[Any], str]] = []
    for where, rule in rules(spec):
        if rule.strength != "documented":
            continue
        fragments = [f.strip(" ,.:") for f in re.split(r"\"|'|;|\.\.\.| / |\|", plain(rule.source))]
        if not any(len(f) >= MIN_FRAGMENT and f in page for f in fragments):
            problems.append((where + ["source"], f"a documented rule quotes its page, but no {MIN_FRAGMENT}+ character "
                                                 f"fragment of {rule.source[:60]!r} stands in {spec.seed}"))
    return problems, None

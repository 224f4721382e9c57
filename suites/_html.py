"""report.html: one self-contained page (inline CSS and a few lines of inline JS; no CDN, no web
font, no image, nothing fetched) that a person can read offline.

Two matrices, failure class x provider and check x provider, each cell coloured by its verdict.
A cell opens the exchange that decided it: the worst case of the cell, with its checks (expected,
got), the rule each check judged by with its source quoted, and the request, response and replay,
every key already a placeholder (the writer redacts the whole page once more).
"""
from __future__ import annotations

import html
import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Iterable, Mapping, Protocol

from ._baseline import DeviationState, seen_deviations
from ._checks import CHECKS
from ._result import CaseResult, CheckResult
from ._verdict import Verdict, worst

if TYPE_CHECKING:
    from specs import ProviderSpec

VERDICT_WORDS: Mapping[str, str] = {
    "PASS": "the target does what the spec says",
    "FAIL": "breaks a documented rule, or a security rule: fails the run",
    "NON-STRICT": "breaks an RFC or inferred rule: reported, does not fail",
    "INFO": "observed, no rule judges it",
    "SKIP": "not run (the reason is given)",
    "DEVIATION": "a known live deviation listed in the spec: INFO, not FAIL",
}
# C0 controls (but tab and newline), DEL and C1 controls: shown as \xNN so the page stays readable.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Check names that are not checks: the engine's summary entry of a run that found nothing.
_PSEUDO_CHECKS = ("generated",)

CSS = """
:root{--pass:#1a7f37;--pass-bg:#dafbe1;--fail:#cf222e;--fail-bg:#ffebe9;--ns:#9a6700;--ns-bg:#fff8c5;
--info:#0969da;--info-bg:#ddf4ff;--skip:#57606a;--skip-bg:#f0f2f4;--dev:#8250df;--dev-bg:#fbefff;
--line:#d0d7de;--ink:#1f2328;--muted:#656d76;--code:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans","Liberation Sans",sans-serif;color:var(--ink);background:#fff}
header{padding:20px 32px 14px;border-bottom:1px solid var(--line);background:#f6f8fa}
h1{margin:0 0 4px;font-size:22px;font-weight:600}
h1 .mode{font-size:13px;font-weight:600;vertical-align:middle;margin-left:8px;padding:2px 8px;border-radius:10px;background:#24292f;color:#fff;text-transform:uppercase;letter-spacing:.04em}
h2{font-size:16px;margin:28px 0 10px;font-weight:600}
main{padding:4px 32px 40px;max-width:1500px}
.sub{color:var(--muted);margin:0}
.totals{display:flex;flex-wrap:wrap;gap:8px;margin-top:12px}
.chip{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;font-size:12.5px;border:1px solid transparent}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;margin:10px 0 0;padding:0;list-style:none;color:var(--muted);font-size:12.5px}
.legend .chip{margin-right:6px}
.v-PASS{color:var(--pass);background:var(--pass-bg);border-color:#aceebb}
.v-FAIL{color:var(--fail);background:var(--fail-bg);border-color:#ffcecb}
.v-NON-STRICT{color:var(--ns);background:var(--ns-bg);border-color:#f5e0a0}
.v-INFO{color:var(--info);background:var(--info-bg);border-color:#b6e3ff}
.v-SKIP{color:var(--skip);background:var(--skip-bg);border-color:#e1e4e8}
.v-DEVIATION{color:var(--dev);background:var(--dev-bg);border-color:#e0c8ff}
.v-NA{color:#afb8c1;background:#fff}
table.matrix{border-collapse:separate;border-spacing:3px;margin:0}
table.matrix th{font-weight:600;text-align:left;padding:6px 10px;white-space:nowrap}
table.matrix thead th{vertical-align:bottom;font-size:13px}
table.matrix thead th a{font-weight:400;font-size:11.5px;color:var(--muted);display:block;text-decoration:none}
table.matrix tbody th{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px;font-weight:500;color:#424a53}
td.cell{padding:0;min-width:118px}
td.cell a,td.cell span{display:block;padding:6px 10px;border-radius:6px;text-decoration:none;font-weight:600;font-size:12.5px;border:1px solid transparent;white-space:nowrap}
td.cell a:hover{filter:brightness(.96);box-shadow:0 0 0 2px rgba(31,35,40,.15)}
td.cell a.selected{box-shadow:0 0 0 3px #24292f}
td.cell a.dev{border-style:dashed;border-color:var(--dev)}
td.cell small{display:block;font-weight:400;opacity:.8;font-size:11px}
.grid{display:flex;flex-wrap:wrap;gap:8px 48px;align-items:flex-start}
.panel{display:none;margin:18px 0;border:1px solid var(--line);border-radius:8px;padding:0 0 6px;background:#fff}
.panel.open,.panel:target{display:block}
.panel>h3{margin:0;padding:10px 16px;font-size:15px;border-bottom:1px solid var(--line);background:#f6f8fa;border-radius:8px 8px 0 0}
.panel>h3 a{font-weight:400;font-size:12.5px;margin-left:10px}
.panel>h3 a.back{float:right;color:var(--muted);text-decoration:none}
details.case{margin:8px 12px;border:1px solid var(--line);border-left-width:5px;border-radius:6px}
details.case.v-FAIL{border-left-color:var(--fail)}details.case.v-NON-STRICT{border-left-color:var(--ns)}
details.case.v-PASS{border-left-color:var(--pass)}details.case.v-INFO{border-left-color:var(--info)}details.case.v-SKIP{border-left-color:var(--skip)}
details.case{background:#fff;color:var(--ink)}
details.case>summary{cursor:pointer;padding:8px 12px;list-style-position:outside}
details.case>summary code{font-size:13px;font-weight:600}
details.case>summary .desc{color:var(--muted);margin-left:6px}
details.case.focus{box-shadow:0 0 0 3px rgba(9,105,218,.35)}
.body{padding:2px 14px 12px}
table.checks{border-collapse:collapse;width:100%;margin:6px 0 10px;font-size:13px}
table.checks th,table.checks td{border-bottom:1px solid #eaeef2;padding:5px 8px;text-align:left;vertical-align:top}
table.checks th{font-weight:600;color:var(--muted);font-size:12px}
table.checks td.name{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;white-space:nowrap}
blockquote{margin:4px 0 2px;padding:2px 10px;border-left:3px solid #d0d7de;color:#424a53;font-style:italic}
.strength{font-size:11px;font-weight:600;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.exchange{display:grid;grid-template-columns:1fr 1fr;gap:10px}
@media (max-width:1000px){.exchange{grid-template-columns:1fr}}
.exchange h4,.body h4{margin:10px 0 4px;font-size:12.5px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.04em}
pre{margin:0;background:var(--code);border:1px solid #eaeef2;border-radius:6px;padding:8px 10px;font:12px/1.45 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-all;max-height:340px;overflow:auto}
.note{color:var(--muted);margin:6px 0}
.dev-note{margin:6px 0;padding:6px 10px;border-radius:6px;background:var(--dev-bg);color:var(--dev)}
table.baseline{border-collapse:collapse;font-size:13px}
table.baseline th,table.baseline td{border-bottom:1px solid #eaeef2;padding:5px 10px;text-align:left;vertical-align:top}
footer{color:var(--muted);font-size:12px;padding:0 32px 24px}
"""

# Cells open the exchange that decided them; without JS every panel is shown (see <noscript>).
JS = """
(function(){
  function openCase(id, cell){
    var el=document.getElementById(id); if(!el) return;
    document.querySelectorAll('.panel.open').forEach(function(p){p.classList.remove('open');});
    document.querySelectorAll('details.case.focus').forEach(function(d){d.classList.remove('focus');});
    document.querySelectorAll('td.cell a.selected').forEach(function(a){a.classList.remove('selected');});
    var panel=el.closest('.panel'); if(panel) panel.classList.add('open');
    if(el.tagName==='DETAILS'){el.open=true; el.classList.add('focus');}
    if(cell) cell.classList.add('selected');
    // The panel's title stays in view when its first case is the one opened.
    (panel && panel.querySelector('details.case')===el ? panel : el).scrollIntoView({block:'start'});
  }
  document.addEventListener('click', function(e){
    var a=e.target.closest('td.cell a'); if(!a) return;
    e.preventDefault(); history.replaceState(null,'','#'+a.dataset.open); openCase(a.dataset.open, a);
  });
  if(location.hash.length>1){ openCase(decodeURIComponent(location.hash.slice(1)), null); }
})();
"""


def esc(text: object) -> str:
    """HTML-escaped text, control characters shown as \\xNN (CR dropped before LF)."""
    s = str(text).replace("\r\n", "\n")
    s = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", s)
    return html.escape(s, quote=True)


def case_anchor(case_id: str) -> str:
    """The element id of a case's details (its panel is found from it)."""
    return "c-" + re.sub(r"[^A-Za-z0-9_.-]", "_", case_id)


def _badge(verdict: str) -> str:
    return f'<span class="chip v-{esc(verdict)}">{esc(verdict)}</span>'


def _deciding(cases: list[CaseResult]) -> CaseResult:
    """The case that decided a cell: the first with the worst verdict among those that ran."""
    ran = [r for r in cases if r.verdict is not Verdict.SKIP] or cases
    bad = worst(r.verdict for r in ran)
    return next(r for r in ran if r.verdict is bad)


def _check_names(results: Iterable[CaseResult]) -> list[str]:
    seen = dict.fromkeys(c.check for r in results for c in r.checks if c.check not in _PSEUDO_CHECKS)
    return [n for n in CHECKS if n in seen] + [n for n in seen if n not in CHECKS]


class ReportView(Protocol):
    """What the page reads of a run's report (suites._report.Report has it)."""

    mode: str
    results: list[CaseResult]
    specs: dict[str, "ProviderSpec"]
    baseline: list[DeviationState]

    @property
    def providers(self) -> list[str]: ...

    @property
    def rows(self) -> list[str]: ...

    def totals(self) -> dict[str, int]: ...


class _Page:
    """The pieces of one report page."""

    def __init__(self, report: ReportView):
        self.report = report
        self.results = report.results
        self.providers = report.providers
        self.specs = report.specs
        self.baseline: list[DeviationState] = list(report.baseline)
        self.seen = seen_deviations(self.baseline)

    def _deviation_of(self, r: CaseResult, check: str | None = None) -> DeviationState | None:
        for c in r.checks:
            if (check is None or c.check == check) and (r.case_id, c.check) in self.seen:
                return self.seen[(r.case_id, c.check)]
        return None

    def _cell(self, deciding: CaseResult | None, label: str, tip: str, small: str, check: str | None = None) -> str:
        """One matrix cell: coloured by its verdict, opening the case that decided it."""
        if deciding is None:
            return '<td class="cell"><span class="v-NA" title="no such case for this provider">&ndash;</span></td>'
        dev = self._deviation_of(deciding, check) if label == Verdict.INFO.value else None
        cls = f"v-{label}" + (" dev" if dev else "")
        anchor = esc(case_anchor(deciding.case_id))
        title = f"{tip}: {label}, decided by {deciding.case_id}"
        return (f'<td class="cell"><a class="{esc(cls)}" href="#{anchor}" data-open="{anchor}" title="{esc(title)}">'
                f'{esc(label)}<small>{esc("known deviation" if dev else small)}</small></a></td>')

    def class_matrix(self) -> str:
        """Failure class x provider: each cell the worst verdict of the class's cases."""
        rows = []
        for klass in self.report.rows:
            if not any(r.klass == klass for r in self.results):
                continue
            cells = []
            for p in self.providers:
                cases = [r for r in self.results if r.provider == p and r.klass == klass]
                if not cases:
                    cells.append(self._cell(None, "", "", ""))
                    continue
                skipped = sum(r.verdict is Verdict.SKIP for r in cases)
                small = f"{len(cases)} case{'s' if len(cases) != 1 else ''}" + (f", {skipped} skipped" if skipped else "")
                deciding = _deciding(cases)
                cells.append(self._cell(deciding, deciding.verdict.value, f"{p} / {klass}", small))
            rows.append(f'<tr><th scope="row">{esc(klass)}</th>{"".join(cells)}</tr>')
        return self._table("failure class", rows, "by-class")

    def check_matrix(self) -> str:
        """Check x provider: each cell the worst verdict the check gave on any of the provider's cases."""
        rows = []
        for check in _check_names(self.results):
            cells = []
            for p in self.providers:
                judged = [(r, c) for r in self.results if r.provider == p for c in r.checks if c.check == check]
                if not judged:
                    cells.append(self._cell(None, "", "", ""))
                    continue
                bad = worst(c.verdict for _, c in judged)
                deciding = next(r for r, c in judged if c.verdict is bad)
                n_bad = len({r.case_id for r, c in judged if c.verdict is bad})
                small = f"{len(judged)} judged" if bad is Verdict.PASS else f"{n_bad} of {len(judged)} judged"
                cells.append(self._cell(deciding, bad.value, f"{p} / {check}", small, check))
            rows.append(f'<tr><th scope="row">{esc(check)}</th>{"".join(cells)}</tr>')
        return self._table("check", rows, "by-check")

    def _table(self, first: str, rows: list[str], ident: str) -> str:
        """A matrix: a header row naming each provider (and linking its docs), then the rows."""
        heads = []
        for p in self.providers:
            spec = self.specs.get(p)
            name = esc(spec.name if spec else p)
            link = f'<a href="{esc(spec.docs)}" rel="noreferrer">{esc(p)} docs</a>' if spec else ""
            heads.append(f'<th scope="col">{name}{link}</th>')
        return (f'<table class="matrix" id="{ident}"><thead><tr><th scope="col">{esc(first)}</th>{"".join(heads)}</tr></thead>'
                f'<tbody>{"".join(rows)}</tbody></table>')

    # --- one case ------------------------------------------------------------------------------

    def _rule_html(self, rule: Mapping[str, str] | None, forced: bool = False) -> str:
        if not rule:
            return '<span class="note">&ndash;</span>'
        strength = rule.get("strength", "")
        strength += "; FAIL whatever the strength" if forced else ""
        reason = f'<div class="note">inferred because: {esc(rule["reason"])}</div>' if rule.get("reason") else ""
        return f'<span class="strength">{esc(strength)}</span><blockquote>{esc(rule.get("source", ""))}</blockquote>{reason}'

    def _check_row(self, r: CaseResult, c: CheckResult) -> str:
        d = c.as_dict()
        dev = self.seen.get((r.case_id, c.check))
        badge = _badge("DEVIATION") if dev else _badge(c.verdict.value)
        note = f'<div class="note">{esc(c.note)}</div>' if c.note else ""
        expected = esc(c.expected) if c.expected else '<span class="note">&ndash;</span>'
        got = esc(c.got) if c.got else '<span class="note">&ndash;</span>'
        return (f'<tr><td class="name">{esc(c.check)}</td><td>{badge}</td><td>{expected}</td><td>{got}{note}</td>'
                f'<td>{self._rule_html(d.get("rule"), c.forced)}</td></tr>')

    def case(self, r: CaseResult, open_: bool) -> str:
        """One case as <details>: its checks, the rules quoted, the request, response and replay."""
        parts = []
        if r.verdict is Verdict.SKIP:
            parts.append(f'<p class="note">Skipped: {esc(r.reason or "no reason given")}</p>')
        dev = self._deviation_of(r)
        if dev:
            d = dev.deviation
            parts.append(f'<div class="dev-note">Known deviation ({esc(d.check)}): {esc(d.reason)} '
                         f'&mdash; <a href="{esc(d.link)}" rel="noreferrer">{esc(d.link)}</a></div>')
        if r.checks:
            rows = "".join(self._check_row(r, c) for c in sorted(r.checks, key=_check_order))
            parts.append('<table class="checks"><thead><tr><th>check</th><th>verdict</th><th>expected</th><th>got</th>'
                         f'<th>rule it judges by (source quoted)</th></tr></thead><tbody>{rows}</tbody></table>')
        if r.rules:
            # Rules quoting the same sentence at the same strength are shown once, their names together.
            grouped: dict[tuple[str, ...], list[str]] = {}
            for name, rule in r.rules.items():
                grouped.setdefault(tuple(sorted(rule.items())), []).append(name)
            items = "".join(f'<tr><td class="name">{esc(", ".join(names))}</td><td>{self._rule_html(dict(rule))}</td></tr>'
                            for rule, names in grouped.items())
            parts.append(f'<h4>Rules this case is judged by</h4><table class="checks"><tbody>{items}</tbody></table>')
        if r.request or r.response:
            parts.append('<div class="exchange">'
                         f'<div><h4>Request</h4><pre>{esc(r.request or "")}</pre></div>'
                         f'<div><h4>Response</h4><pre>{esc(r.response or "")}</pre></div></div>')
        if r.replay:
            parts.append(f"<h4>Replay</h4><pre>{esc(r.replay)}</pre>")
        if r.verdict in (Verdict.FAIL, Verdict.NON_STRICT) and r.reason and r.klass == "generated":
            parts.append(f"<h4>Findings</h4><pre>{esc(r.reason)}</pre>")
        label = "DEVIATION" if dev and r.verdict is Verdict.INFO else r.verdict.value
        summary = (f'{_badge(label)} <code>{esc(r.case_id)}</code><span class="desc">{esc(r.description)} '
                   f'&middot; credential: {esc(r.credential)}</span>')
        return (f'<details class="case v-{esc(r.verdict.value)}" id="{esc(case_anchor(r.case_id))}"{" open" if open_ else ""}>'
                f'<summary>{summary}</summary><div class="body">{"".join(parts)}</div></details>')

    def panels(self) -> str:
        """One hidden panel per (provider, failure class), the deciding case first and open."""
        out = []
        for p in self.providers:
            spec = self.specs.get(p)
            for klass in self.report.rows:
                cases = [r for r in self.results if r.provider == p and r.klass == klass]
                if not cases:
                    continue
                first = _deciding(cases)
                ordered = [first] + [r for r in cases if r is not first]
                docs = f'<a href="{esc(spec.docs)}" rel="noreferrer">{esc(spec.docs)}</a>' if spec else ""
                body = "".join(self.case(r, r is first) for r in ordered)
                out.append(f'<section class="panel" id="p-{esc(p)}-{esc(klass)}"><h3>{esc(spec.name if spec else p)} &middot; '
                           f'{esc(klass)}{docs}<a class="back" href="#top">&uarr; matrices</a></h3>{body}</section>')
        return "".join(out)

    def baseline_table(self) -> str:
        """The expected-deviations baseline as judged after the run."""
        if not self.baseline:
            listed = sum(len(s.deviations) for s in self.specs.values())
            return f'<p class="note">{"No expected deviations are listed in the specs." if not listed else "The listed deviations were not judged."}</p>'
        rows = "".join(
            f'<tr><td>{esc(s.provider)}</td><td><code>{esc(s.deviation.case)}</code></td><td><code>{esc(s.deviation.check)}</code></td>'
            f'<td>{_badge({"seen": "DEVIATION", "stale": "FAIL", "unknown": "FAIL"}.get(s.state, "SKIP"))} {esc(s.state)}</td>'
            f'<td>{esc(s.detail)}</td><td>{esc(s.deviation.reason)}<br><a href="{esc(s.deviation.link)}" rel="noreferrer">{esc(s.deviation.link)}</a></td></tr>'
            for s in self.baseline
        )
        return ('<table class="baseline"><thead><tr><th>provider</th><th>case</th><th>check</th><th>state</th><th>observed</th>'
                f'<th>reason and link</th></tr></thead><tbody>{rows}</tbody></table>')

    def render(self) -> str:
        """The whole page."""
        totals = self.report.totals()
        chips = "".join(f'<span class="chip v-{esc(v)}">{n} {esc(v)}</span>' for v, n in totals.items() if n)
        legend = "".join(f"<li>{_badge(v)}{esc(words)}</li>" for v, words in VERDICT_WORDS.items())
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        n = len(self.results)
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>authconform report ({esc(self.report.mode)})</title><style>{CSS}</style>
<noscript><style>.panel{{display:block}}</style></noscript></head>
<body><header id="top"><h1>authconform report<span class="mode">{esc(self.report.mode)}</span></h1>
<p class="sub">{n} cases against {len(self.providers)} provider{"s" if len(self.providers) != 1 else ""} &middot; {esc(stamp)} &middot; keys are shown as placeholders such as &lt;CLORO_API_KEY&gt;</p>
<div class="totals">{chips}</div><ul class="legend">{legend}</ul></header>
<main><p class="note">Click a cell to open the exchange that decided it: the worst case of the cell, its checks, the rule each judges by (its source quoted) and the request and response.</p>
<div class="grid"><div><h2>Failure class &times; provider</h2>{self.class_matrix()}</div>
<div><h2>Check &times; provider</h2>{self.check_matrix()}</div></div>
<div id="panels">{self.panels()}</div>
<h2>Expected deviations (baseline)</h2>{self.baseline_table()}</main>
<footer>Written by authconform. Self-contained: no network request is made to show this page.</footer>
<script>{JS}</script></body></html>
"""


def _check_order(c: CheckResult) -> int:
    names = list(CHECKS)
    return names.index(c.check) if c.check in names else len(names)


def render_html(report: ReportView) -> str:
    """The whole report as one self-contained HTML page (the caller redacts it and writes it)."""
    return _Page(report).render()

"""The RFC sentences the suite judges by where a spec states no rule of its own: the grammar of a
field value and of credentials, the HTTP layer's own answers, what no server may do (a 5xx, a
dropped connection, a credential echoed). Each is a `Rule` of strength `rfc` quoting its section;
the fixed cases (suites/_cases.py), the checks (suites/_checks.py) and the generated engine
(suites/engine/_strategies.py) all take them from here."""
from __future__ import annotations

from specs import RFC_ONE_METHOD, Rule

# --- field values and credentials (RFC 9110 §5, §11) -------------------------------------------

RFC_OWS = Rule("rfc", "RFC 9110 §5.5: a field value does not include leading or trailing whitespace (OWS)")
# Lenient parsing around the intact valid key (security rule: only access WITHOUT the intact valid
# credential is FAIL whatever the strength; these are judged NON-STRICT at the RFC's sentence).
RFC_ONE_LINE = Rule(
    "rfc",
    "RFC 9110 §5.3: Authorization is not a list field, so a sender MUST NOT send it on two field lines; "
    "a server that uses one line holding the intact valid key is liberal, not open",
)
RFC_UNICODE_SPACE = Rule(
    "rfc",
    "RFC 9110 §5.6.3: OWS = *( SP / HTAB ), and §11.2: token68 holds no other whitespace; a server that strips "
    "other Unicode whitespace (NBSP, NEL) around the intact valid key is liberal, not open",
)
RFC_FIELD_NAME = Rule("rfc", 'RFC 9110 §5.1: "Field names are case-insensitive"')
RFC_TOKEN68 = Rule("rfc", 'RFC 9110 §11.2: token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="')
RFC_CR_LF_NUL = Rule(
    "rfc",
    'RFC 9110 §5.5: "a recipient of CR, LF, or NUL within a field value MUST either reject the message or '
    'replace each of those characters with SP before further processing"',
)
RFC_OBS_FOLD = Rule(
    "rfc",
    'RFC 9112 §5.2: a server that receives an obs-fold "MUST either reject the message by sending a 400 (Bad '
    'Request) ... or replace each received obs-fold with one or more SP octets prior to interpreting the field value"',
)
RFC_SPACE_COLON = Rule(
    "rfc",
    'RFC 9112 §5.1: "A server MUST reject, with a response status code of 400 (Bad Request), any received request '
    'message that contains whitespace between a header field name and colon."',
)
RFC_BARE_LF = Rule("rfc", 'RFC 9112 §2.2: "a recipient MAY recognize a single LF as a line terminator and ignore any preceding CR"')
RFC_ONE_METHOD_SERVER = Rule("rfc", RFC_ONE_METHOD.source + "; §3.1 invalid_request")
RFC_SIZE = Rule(
    "rfc",
    'RFC 6585 §5: "The 431 status code indicates that the server is unwilling to process the request because its '
    'header fields are too large"; RFC 9110 §15.5.1 (400)',
)

# --- what no server may do, and what the HTTP layer may do first ---------------------------------

ANSWERED_RULE = Rule(
    "rfc",
    "RFC 9110 §15.6: a 5xx status means the server failed to perform a request it should have judged; "
    "a dropped connection is no answer at all",
    "Never a 5xx, never a dropped connection, for anything the HTTP grammar lets through: FAIL whatever the strength.",
)
ECHO_RULE = Rule(
    "rfc",
    "RFC 6750 §5.1: token disclosure is the threat bearer-token usage must be protected against",
    "A response that echoes any 6+ character slice of the presented credential discloses it: FAIL whatever the strength.",
)
HTTP_LAYER_RULE = Rule(
    "rfc",
    'RFC 9110 §5.5: "a recipient of CR, LF, or NUL within a field value MUST either reject the message or replace '
    'each of those characters with SP"; RFC 9112 §5.2 (obs-fold), §5.1 (whitespace before the colon); '
    "RFC 6585 §5 (431), RFC 9110 §15.5.14 (413): the HTTP layer may refuse such a request before any auth code runs",
)
CHALLENGE_RULE = Rule(
    "rfc",
    'RFC 9110 §11.6.1: "The server generating a 401 response MUST send a WWW-Authenticate header field '
    'containing at least one challenge applicable to the target resource."',
)

#!/bin/sh
# cloro's cURL sample (specs/pages/cloro-authentication.md), re-pointed at the mock:
# https://api.cloro.dev -> $CLORO_BASE_URL, YOUR_API_KEY -> $CLORO_API_KEY. Otherwise verbatim.
curl -X POST "$CLORO_BASE_URL/v1/monitor" \
  -H "Authorization: Bearer $CLORO_API_KEY" \
  -H "Content-Type: application/json" \
  -d '{"prompt": "Your prompt here", "model": "CHATGPT"}'

#!/bin/bash
# Crux's Curl sample (specs/pages/crux-authentication.md), re-pointed at the mock:
# https://api-sandbox.cruxconnect.com/path/to/api/endpoint/ -> $CRUX_BASE_URL/organization/permissions/
# (the spec's probe), YOUR_AUTH_TOKEN -> $CRUX_API_KEY. `-d $'{}'` kept: it makes the call a POST.
curl "$CRUX_BASE_URL/organization/permissions/" \
  -H "Authorization: Token $CRUX_API_KEY" \
  -H 'Content-Type: application/json; charset=utf-8' \
  -d $'{}'

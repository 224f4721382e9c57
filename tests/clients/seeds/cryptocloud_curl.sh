#!/bin/sh
# CryptoCloud's cURL sample (specs/pages/cryptocloud-authorization.md), re-pointed at the mock:
# https://api.cryptocloud.plus -> $CRYPTOCLOUD_BASE_URL, the example token -> $CRYPTOCLOUD_API_KEY.
# Its header option is kept as the page spells it, `-header`: curl reads `-h`, prints its help,
# exits 0 and sends nothing. The gate must fail it.
curl -X POST "$CRYPTOCLOUD_BASE_URL/v2/invoice/create" \
-header "Authorization: Token $CRYPTOCLOUD_API_KEY"

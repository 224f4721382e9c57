#!/bin/sh
# Flash's sample request (specs/pages/flash-authentication.md), re-pointed at the mock:
# https://api.paywithflash.com -> $FLASH_BASE_URL, the example token -> $FLASH_API_KEY. Otherwise verbatim.
curl -X POST "$FLASH_BASE_URL/v1/get_user_subscription_details" \
-H "Authorization: Bearer $FLASH_API_KEY" \
-d "email=user@example.com&flash_id=12345"

#!/bin/sh
# Claid's cURL sample (specs/pages/claid-authentication.md), re-pointed at the mock: "https://{API_ENDPOINT}"
# -> $CLAID_BASE_URL/v1-beta1/image/edit (the spec's probe), {YOUR_API_KEY} -> $CLAID_API_KEY.
# Otherwise verbatim, `Host: api.claid.ai` included (a virtual-host header, not a redirect).
curl -X GET --location "$CLAID_BASE_URL/v1-beta1/image/edit" --http1.1 \
    -H "Host: api.claid.ai" \
    -H "Authorization: Bearer $CLAID_API_KEY"

# CryptoCloud's Python sample (specs/pages/cryptocloud-authorization.md), re-pointed at the mock:
# the URL -> $CRYPTOCLOUD_BASE_URL/v2/invoice/create, the example token -> $CRYPTOCLOUD_API_KEY.
# Otherwise verbatim (it sends no body; the mock answers its 400 for an invalid request, after auth).
import os

import requests

url = os.environ["CRYPTOCLOUD_BASE_URL"] + "/v2/invoice/create"
headers = {
    "Authorization": "Token " + os.environ["CRYPTOCLOUD_API_KEY"]
}

response = requests.post(url, headers=headers)

if response.status_code == 200:
    print("Success:", response.json())
else:
    print("Fail:", response.status_code, response.text)

# cloro's Python sample (specs/pages/cloro-authentication.md), re-pointed at the mock with the page's own
# environment-variable advice: `api_key = os.getenv('CLORO_API_KEY')`. Otherwise verbatim.
import os

import requests

api_key = os.getenv('CLORO_API_KEY')

headers = {
    "Authorization": f"Bearer {api_key}",
    "Content-Type": "application/json"
}

response = requests.post(
    os.environ["CLORO_BASE_URL"] + "/v1/monitor",
    headers=headers,
    json={"prompt": "Your prompt here", "model": "CHATGPT"}
)
print(response.status_code)

# Crux's "Python (requests)" sample (specs/pages/crux-authentication.md), re-pointed at the mock:
# the URL -> $CRUX_BASE_URL/organization/permissions/, YOUR_AUTH_TOKEN -> $CRUX_API_KEY.
# Otherwise verbatim, including its call of json.dumps with no argument: a TypeError before any
# request, which `except requests.exceptions.RequestException` does not catch.
import os

import requests
import json


def send_request():
    # Get All Permissions
    # GET https://api-sandbox.cruxconnect.com/path/to/api/endpoint/

    try:
        response = requests.get(
            url=os.environ["CRUX_BASE_URL"] + "/organization/permissions/",
            headers={
                "Authorization": "Token " + os.environ["CRUX_API_KEY"],
                "Content-Type": "application/json; charset=utf-8",
            },
            data=json.dumps()
        )
        print('Response HTTP Status Code: {status_code}'.format(
            status_code=response.status_code))
        print('Response HTTP Response Body: {content}'.format(
            content=response.content))
    except requests.exceptions.RequestException:
        print('HTTP Request failed')


send_request()

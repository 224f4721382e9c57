// CryptoCloud's JavaScript sample (specs/pages/cryptocloud-authorization.md), re-pointed at the mock:
// the URL -> $CRYPTOCLOUD_BASE_URL/v2/invoice/create, the example token -> $CRYPTOCLOUD_API_KEY.
const url = process.env.CRYPTOCLOUD_BASE_URL + '/v2/invoice/create';
const headers = new Headers({
    'Authorization': 'Token ' + process.env.CRYPTOCLOUD_API_KEY
});

fetch(url, { method: 'POST', headers })
    .then(response => {
        if (response.ok) {
            return response.json();
        } else {
            return Promise.reject('Auth error');
        }
    })
    .then(data => {
        console.log('Success:', data);
    })
    .catch(error => {
        console.error('Fail:', error);
    });

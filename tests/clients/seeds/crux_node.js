// Crux's Node.js sample (specs/pages/crux-authentication.md), re-pointed at the mock: hostname, port and
// module (http or https, by the scheme of $CRUX_BASE_URL) from the environment, YOUR_AUTH_TOKEN ->
// $CRUX_API_KEY, path -> the spec's probe. Otherwise verbatim.
// request Get All Permissions
(function(callback) {
    'use strict';

    const base = new URL(process.env.CRUX_BASE_URL);
    const httpTransport = require(base.protocol === 'https:' ? 'https' : 'http');
    const responseEncoding = 'utf8';
    const httpOptions = {
        hostname: base.hostname,
        port: base.port,
        path: '/organization/permissions/',
        method: 'GET',
        headers: {"Authorization":"Token " + process.env.CRUX_API_KEY,"Content-Type":"application/json; charset=utf-8"}
    };
    httpOptions.headers['User-Agent'] = 'node ' + process.version;


    const request = httpTransport.request(httpOptions, (res) => {
        let responseBufs = [];
        let responseStr = '';

        res.on('data', (chunk) => {
            if (Buffer.isBuffer(chunk)) {
                responseBufs.push(chunk);
            }
            else {
                responseStr = responseStr + chunk;
            }
        }).on('end', () => {
            responseStr = responseBufs.length > 0 ?
                Buffer.concat(responseBufs).toString(responseEncoding) : responseStr;

            callback(null, res.statusCode, res.headers, responseStr);
        });

    })
    .setTimeout(0)
    .on('error', (error) => {
        callback(error);
    });
    request.write("{}")
    request.end();


})((error, statusCode, headers, body) => {
    console.log('ERROR:', error);
    console.log('STATUS:', statusCode);
    console.log('HEADERS:', JSON.stringify(headers));
    console.log('BODY:', body);
});

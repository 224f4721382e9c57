// A client on Node's global fetch (Node 18+): the probe call, configurable right or wrong.
// Usage: node node_fetch.mjs CALL_JSON [--scheme S] [--place header|query|both] [--case lower]
//        [--requests N] [--retries N] [--expect STATUS]
const call = JSON.parse(process.argv[2]);
const opts = { scheme: call.scheme, place: "header", case: "keep", requests: 1, retries: 0, expect: null };
for (let i = 3; i < process.argv.length; i += 2) {
  const [name, value] = [process.argv[i], process.argv[i + 1]];
  if (name === "--scheme") opts.scheme = value;
  else if (name === "--place") opts.place = value;
  else if (name === "--case") opts.case = value;
  else if (name === "--requests") opts.requests = Number(value);
  else if (name === "--retries") opts.retries = Number(value);
  else if (name === "--expect") opts.expect = Number(value);
  else { console.error(`unknown option ${name}`); process.exit(2); }
}
let key = process.env[`${call.env}_API_KEY`];
if (opts.case === "lower") key = key.toLowerCase();
const base = process.env[`${call.env}_BASE_URL`].replace(/\/$/, "");

const statuses = [];
for (let n = 0; n < opts.requests; n++) {
  const url = new URL(base + call.path);
  const headers = new Headers({ "Content-Type": call.content_type });
  if (opts.place !== "query") headers.set(call.header, `${opts.scheme} ${key}`);
  if (opts.place !== "header") url.searchParams.set(call.query_name, key);
  const init = { method: call.method, headers };
  // fetch refuses a body on GET/HEAD (Crux's probe is a GET with `{}`): it sends none there.
  if (call.body && !["GET", "HEAD"].includes(call.method)) init.body = call.body;
  let status = 0;
  for (let attempt = 0; attempt <= opts.retries; attempt++) {
    const resp = await fetch(url, init);
    status = resp.status;
    await resp.arrayBuffer();
    if (status !== 401 && status !== 403) break;
  }
  statuses.push(status);
  if (status >= 400) break;
}
console.log("statuses:", statuses.join(" "));
if (opts.expect !== null && statuses[statuses.length - 1] !== opts.expect) {
  console.error(`expected ${opts.expect}`);
  process.exit(1);
}

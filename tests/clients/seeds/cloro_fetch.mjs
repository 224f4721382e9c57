// cloro's JavaScript sample (specs/pages/cloro-authentication.md), re-pointed at the mock with the page's
// own `const apiKey = process.env.CLORO_API_KEY;`. Otherwise verbatim (top-level await: an ES module).
const apiKey = process.env.CLORO_API_KEY;

const headers = {
  Authorization: `Bearer ${apiKey}`,
  "Content-Type": "application/json",
};

const response = await fetch(`${process.env.CLORO_BASE_URL}/v1/monitor`, {
  method: "POST",
  headers: headers,
  body: JSON.stringify({ prompt: "Your prompt here", model: "CHATGPT" }),
});
console.log(response.status);

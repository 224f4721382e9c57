#!/bin/sh
# A client that is a curl command line, as a CI job or a shell SDK would write it.
# Usage: curl_client.sh ENV METHOD PATH CONTENT_TYPE BODY HEADER SCHEME [MODE]
#   MODE: header (default) | query:NAME | twice | lower. Reads ENV_API_KEY and ENV_BASE_URL.
#   CLIENT_REQUESTS=N calls (default 1); CLIENT_RETRIES=N retries of a call refused with 401/403;
#   CLIENT_EXPECT=200 exits 1, as a failing test would, unless the last call got that status.
set -eu
env=$1 method=$2 path=$3 ctype=$4 body=$5 header=$6 scheme=$7 mode=${8:-header}
key=$(printenv "${env}_API_KEY")
base=$(printenv "${env}_BASE_URL")
url="$base$path"
set -- -sS -o /dev/null -w '%{http_code}' -X "$method" -H "Content-Type: $ctype"
if [ -n "$body" ]; then set -- "$@" --data-binary "$body"; fi
case $mode in
  header) set -- "$@" -H "$header: $scheme $key" ;;
  query:*) url="$url?${mode#query:}=$key" ;;
  twice) set -- "$@" -H "$header: $scheme $key" -H "$header: $scheme $key" ;;
  lower) set -- "$@" -H "$header: $scheme $(printf %s "$key" | tr A-Z a-z)" ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac
calls=0 status=000
while [ "$calls" -lt "${CLIENT_REQUESTS:-1}" ]; do
  calls=$((calls + 1)) tries=0
  while :; do
    status=$(curl "$@" "$url")
    echo "status: $status"
    case $status in 401|403) ;; *) break ;; esac
    [ "$tries" -lt "${CLIENT_RETRIES:-0}" ] || break
    tries=$((tries + 1))
  done
  case $status in 2*) ;; *) break ;; esac
done
if [ -n "${CLIENT_EXPECT:-}" ] && [ "$status" != "$CLIENT_EXPECT" ]; then
  echo "expected $CLIENT_EXPECT" >&2
  exit 1
fi

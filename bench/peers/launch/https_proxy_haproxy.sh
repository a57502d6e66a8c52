#!/usr/bin/env bash
# Start HAProxy as a TLS-terminating reverse proxy (1 thread, HTTPS in front, HTTP/1.1 to the
# servers, roundrobin, http-reuse always) in the FOREGROUND (exec, -db).
#   https_proxy_haproxy.sh PORT UPSTREAMS WORKDIR CERT KEY
# UPSTREAMS: comma-separated host:port list. CERT, KEY: PEM files (joined into one for HAProxy).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/render.sh"
port=${1:?port}
upstreams=${2:?upstreams}
wd=${3:?workdir}
cert=${4:?cert}
key=${5:?key}
mkdir -p "$wd"
cat "$cert" "$key" >"$wd/cert+key.pem"
chmod 600 "$wd/cert+key.pem"
servers=$(server_lines "$upstreams" '    server s%s %s')
render "$HERE/../conf/https.haproxy.cfg.tmpl" "$wd/haproxy.cfg" \
    "PORT=$port" "SERVERS=$servers" "PEM=$wd/cert+key.pem"
exec haproxy -db -f "$wd/haproxy.cfg"

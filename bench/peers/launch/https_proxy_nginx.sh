#!/usr/bin/env bash
# Start nginx as a TLS-terminating reverse proxy (1 worker, HTTPS in front, HTTP/1.1 keepalive
# pool to the upstreams, round robin) in the FOREGROUND (exec).
#   https_proxy_nginx.sh PORT UPSTREAMS WORKDIR CERT KEY
# UPSTREAMS: comma-separated host:port list. CERT, KEY: PEM files. Env NGINX_UPSTREAM_KEEPALIVE
# (default 64).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/render.sh"
port=${1:?port}
upstreams=${2:?upstreams}
wd=${3:?workdir}
cert=${4:?cert}
key=${5:?key}
mkdir -p "$wd"
servers=$(server_lines "$upstreams" '        server %.0s%s;')
render "$HERE/../conf/https.nginx.conf.tmpl" "$wd/nginx.conf" \
    "PORT=$port" "WORKDIR=$wd" "SERVERS=$servers" "CERT=$cert" "KEY=$key" \
    "UPSTREAM_KEEPALIVE=${NGINX_UPSTREAM_KEEPALIVE:-64}"
exec nginx -p "$wd/" -c "$wd/nginx.conf" -e "$wd/error.log"

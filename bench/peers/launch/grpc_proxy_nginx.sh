#!/usr/bin/env bash
# Start nginx as a gRPC proxy (1 worker, h2c listener, grpc_pass, round robin, keepalive pool to
# the h2c upstreams) in the FOREGROUND (exec).
#   grpc_proxy_nginx.sh PORT UPSTREAMS WORKDIR
# UPSTREAMS: comma-separated host:port list. Env NGINX_UPSTREAM_KEEPALIVE (default 64).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/render.sh"
port=${1:?port}
upstreams=${2:?upstreams}
wd=${3:?workdir}
mkdir -p "$wd"
servers=$(server_lines "$upstreams" '        server %.0s%s;')
render "$HERE/../conf/grpc.nginx.conf.tmpl" "$wd/nginx.conf" \
    "PORT=$port" "WORKDIR=$wd" "SERVERS=$servers" \
    "UPSTREAM_KEEPALIVE=${NGINX_UPSTREAM_KEEPALIVE:-64}"
exec nginx -p "$wd/" -c "$wd/nginx.conf" -e "$wd/error.log"

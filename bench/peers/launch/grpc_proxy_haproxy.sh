#!/usr/bin/env bash
# Start HAProxy as a gRPC proxy (1 thread, h2c in front and to the servers, roundrobin,
# http-reuse always) in the FOREGROUND (exec, -db).
#   grpc_proxy_haproxy.sh PORT UPSTREAMS WORKDIR
# UPSTREAMS: comma-separated host:port list of h2c servers.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/render.sh"
port=${1:?port}
upstreams=${2:?upstreams}
wd=${3:?workdir}
mkdir -p "$wd"
servers=$(server_lines "$upstreams" '    server s%s %s proto h2')
render "$HERE/../conf/grpc.haproxy.cfg.tmpl" "$wd/haproxy.cfg" \
    "PORT=$port" "SERVERS=$servers"
exec haproxy -db -f "$wd/haproxy.cfg"

#!/usr/bin/env bash
# Start HAProxy as a gRPC proxy (1 thread, h2c in front and to the servers, roundrobin,
# http-reuse always) in the FOREGROUND (exec, -db).
#   grpc_proxy_haproxy.sh PORT UPSTREAMS WORKDIR [CERT KEY]
# UPSTREAMS: comma-separated host:port list of h2c servers. With CERT and KEY (PEM files, joined
# into one for HAProxy) the bind is TLS with ALPN h2 instead of h2c.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/render.sh"
port=${1:?port}
upstreams=${2:?upstreams}
wd=${3:?workdir}
cert=${4:-}
key=${5:-}
mkdir -p "$wd"
bind_opts='proto h2'
if [[ -n $cert ]]; then
    cat "$cert" "${key:?key}" >"$wd/cert+key.pem"
    chmod 600 "$wd/cert+key.pem"
    bind_opts="ssl crt $wd/cert+key.pem alpn h2"
fi
servers=$(server_lines "$upstreams" '    server s%s %s proto h2')
render "$HERE/../conf/grpc.haproxy.cfg.tmpl" "$wd/haproxy.cfg" \
    "PORT=$port" "SERVERS=$servers" "BIND_OPTS=$bind_opts"
exec haproxy -db -f "$wd/haproxy.cfg"

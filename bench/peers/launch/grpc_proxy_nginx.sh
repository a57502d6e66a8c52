#!/usr/bin/env bash
# Start nginx as a gRPC proxy (1 worker, h2c listener, grpc_pass, round robin, keepalive pool to
# the h2c upstreams) in the FOREGROUND (exec).
#   grpc_proxy_nginx.sh PORT UPSTREAMS WORKDIR [CERT KEY]
# UPSTREAMS: comma-separated host:port list. With CERT and KEY (PEM files) the listener is TLS
# with ALPN h2 instead of h2c. Env NGINX_UPSTREAM_KEEPALIVE (default 64).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/render.sh"
port=${1:?port}
upstreams=${2:?upstreams}
wd=${3:?workdir}
cert=${4:-}
key=${5:-}
mkdir -p "$wd"
listen_tls=''
tls_lines='        # (h2c: no TLS)'
if [[ -n $cert ]]; then
    listen_tls=' ssl'
    tls_lines="        ssl_certificate ${cert};
        ssl_certificate_key ${key:?key};
        ssl_protocols TLSv1.2 TLSv1.3;"
fi
servers=$(server_lines "$upstreams" '        server %.0s%s;')
render "$HERE/../conf/grpc.nginx.conf.tmpl" "$wd/nginx.conf" \
    "PORT=$port" "WORKDIR=$wd" "SERVERS=$servers" \
    "UPSTREAM_KEEPALIVE=${NGINX_UPSTREAM_KEEPALIVE:-64}" \
    "LISTEN_TLS=$listen_tls" "TLS_LINES=$tls_lines"
exec nginx -p "$wd/" -c "$wd/nginx.conf" -e "$wd/error.log"

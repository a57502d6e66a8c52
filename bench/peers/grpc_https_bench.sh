#!/usr/bin/env bash
# grpc_https_bench.sh - side-by-side gRPC (h2c) and HTTPS reverse-proxy benchmark, the companion
# of proxy_bench.sh (same process handling, pinning, quiet wait and interleaving; see README.md).
#
#   SCENARIO=grpc   NUM_UPSTREAMS (4) h2c gRPC upstreams (launch/upstream_grpc.sh: a fixed small
#                   reply to every unary call); nginx (grpc_pass) and HAProxy (proto h2 both
#                   sides) as single-worker gRPC proxies; load = h2load, CONNS (4) connections x
#                   STREAMS (16) concurrent streams of unary calls (small message each way).
#                   p50/p99 come from h2load's per-request log (--log-file).
#   SCENARIO=https  NUM_UPSTREAMS (2) nginx upstreams (100-byte body, as proxy_bench.sh); nginx
#                   and HAProxy terminate TLS (one certificate made with the openssl CLI at start,
#                   the same for every proxy) and proxy HTTP/1.1; load = wrk, CONNS (64) keep-alive
#                   HTTPS connections.
#   SCENARIO=grpcs  as grpc, but the client side is TLS with ALPN h2 (the certificate as https);
#                   the upstreams stay h2c.
# "limit" = the load tool straight at upstream 1 (no proxy; without TLS).
#
# Usage:
#   SCENARIO=grpc ./grpc_https_bench.sh                  # peers only
#   SCENARIO=grpc CANDIDATE_CMD='<command>' ./grpc_https_bench.sh
#   SCENARIO=https ./grpc_https_bench.sh '<command>'
#
# CANDIDATE_CMD placeholders (replaced before it runs via `bash -c`):
#   {PORT}            port the candidate must listen on (127.0.0.1); h2c (grpc) or TLS (https)
#   {UPSTREAMS}       comma-separated upstreams, e.g. 127.0.0.1:23501,127.0.0.1:23502
#   {UPSTREAMS_H2C}   the same as h2c://127.0.0.1:23501,h2c://...
#   {UPSTREAMS_SPACE} {UPSTREAM_PORTS} {WORKDIR} {HERE}   as in proxy_bench.sh
#   {CERT} {KEY}      PEM certificate and private key (https, grpcs; made in every scenario)
# The candidate must stay in the FOREGROUND; it gets its own process group, is pinned like the
# other proxies (PROXY_CPU) and the group is killed at exit. It must answer, in the grpc(s) scenario,
# a unary call on any path with HTTP 200 and trailers grpc-status 0 (checked with curl before the
# run); in the https scenario GET / with the upstream's 100-byte body.
#
# Environment knobs (defaults):
#   SCENARIO=grpc             grpc | grpcs | https
#   CANDIDATE_NAME=candidate  label in the table
#   CONNS=4 (grpc, grpcs) | 64 (https)   client connections
#   STREAMS=16                concurrent streams per connection (grpc; h2load -m)
#   REQ_BYTES=16 REPLY_BYTES=16   gRPC message payload sizes (grpc)
#   UPSTREAM_DELAY_US=0       gRPC upstream answers this long after a call's end (grpc)
#   DURATION=10 WARMUP=2 REPS=3 GAP=1   as proxy_bench.sh
#   PIN=1 PROXY_CPU=0 LOAD_CPU=1        proxies on PROXY_CPU; load tool + upstreams on LOAD_CPU
#   NUM_UPSTREAMS=4 (grpc, grpcs) | 2 (https)
#   PEERS="limit nginx haproxy"   reference targets to run
#   NGINX_UPSTREAM_KEEPALIVE=64   nginx's idle upstream pool (grpc: one call per connection)
#   NICE=-10 QUIET_WAIT=10 QUIET_MAX=15 RESULTS_DIR= KEEP_WORKDIR=0   as proxy_bench.sh
#   BASE_PORT=23500           upstreams BASE+1.., nginx BASE+20, haproxy BASE+21, candidate BASE+22
#   GRPC_UPSTREAM_BIN         the grpc_upstream binary (bench/grpc_upstream.cc; grpc, grpcs)
#   BENCH_NOTE                one line printed in the report's header (e.g. which build ran)
#
# Output: progress on stderr; the report on stdout (one row per target: medians over reps of
# rps, p50/p99/p99.9, errors, proxy CPU %, proxy CPU µs per request, per-CPU busy %, others %;
# grpc adds how many calls reached the upstreams and how evenly). Last line:
#   'candidate/haproxy rps ratio: X.XX'   (with a candidate)   or   'haproxy/nginx rps ratio: X.XX'
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

CANDIDATE_CMD=${1:-${CANDIDATE_CMD:-}}
CANDIDATE_NAME=${CANDIDATE_NAME:-candidate}
SCENARIO=${SCENARIO:-grpc}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
REPS=${REPS:-3}
GAP=${GAP:-1}
PIN=${PIN:-1}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
PEERS=${PEERS:-limit nginx haproxy}
BASE_PORT=${BASE_PORT:-23500}
NICE=${NICE:--10}
RESULTS_DIR=${RESULTS_DIR:-}
KEEP_WORKDIR=${KEEP_WORKDIR:-0}
QUIET_WAIT=${QUIET_WAIT:-10}
QUIET_MAX=${QUIET_MAX:-15}
STREAMS=${STREAMS:-16}
REQ_BYTES=${REQ_BYTES:-16}
export GRPC_REPLY_BYTES=${REPLY_BYTES:-16}
UPSTREAM_DELAY_US=${UPSTREAM_DELAY_US:-0}
export NGINX_UPSTREAM_KEEPALIVE=${NGINX_UPSTREAM_KEEPALIVE:-64}

case $SCENARIO in
    grpc) GRPC=1; TLS=0 ;;
    grpcs) GRPC=1; TLS=1 ;;
    https) GRPC=0; TLS=1 ;;
    *) echo "SCENARIO must be grpc, grpcs or https" >&2; exit 2 ;;
esac
if ((GRPC)); then
    CONNS=${CONNS:-4}; NUM_UPSTREAMS=${NUM_UPSTREAMS:-4}
else
    CONNS=${CONNS:-64}; NUM_UPSTREAMS=${NUM_UPSTREAMS:-2}
fi

log() { printf '[grpc_https_bench] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

tools=(nginx haproxy curl openssl taskset ss pgrep setsid awk sort)
if ((GRPC)); then tools+=(h2load); else tools+=(wrk); fi
for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null ||
        die "missing tool: $tool (apt-get install nginx haproxy wrk nghttp2-client curl openssl libnginx-mod-http-echo; or scripts/install-deps --bench)"
done
if ((GRPC)); then
    [[ -n ${GRPC_UPSTREAM_BIN:-} && -x ${GRPC_UPSTREAM_BIN:-} ]] ||
        die "GRPC_UPSTREAM_BIN must name the grpc_upstream binary (cmake --build build --target grpc_upstream)"
    export GRPC_UPSTREAM_BIN
fi

# ---------------------------------------------------------------- processes
WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/grpc_https_bench.XXXXXX")
STARTED=()                 # PIDs we started; each leads its own process group
LOAD_PID=
declare -A PID_OF=()

# Is any non-zombie process left in process group $1?
group_alive() {
    local p st
    for p in $(pgrep -g "$1" 2>/dev/null); do
        st=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        st=${st##*) }
        [[ ${st%% *} != Z ]] && return 0
    done
    return 1
}

cleanup() {
    local rc=$? pid i alive
    trap - EXIT INT TERM
    if [[ -n $LOAD_PID ]]; then kill -TERM "$LOAD_PID" 2>/dev/null || true; fi
    for pid in "${STARTED[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    done
    for i in $(seq 1 50); do
        alive=0
        for pid in "${STARTED[@]}"; do group_alive "$pid" && alive=1; done
        ((alive)) || break
        sleep 0.1
    done
    for pid in "${STARTED[@]}"; do
        if group_alive "$pid"; then
            log "process group $pid did not stop on TERM; sending KILL"
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
    done
    for pid in "${STARTED[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ -n $RESULTS_DIR && -d $WORKDIR ]]; then
        mkdir -p "$RESULTS_DIR"
        (cd "$WORKDIR" && find . -type f \( -name '*.tsv' -o -name '*.log' -o -name '*.conf' -o -name '*.cfg' -o -name '*.txt' \) \
            ! -name times.txt ! -name 'h2load_*.reqlog' -exec cp --parents {} "$RESULTS_DIR/" \;) 2>/dev/null || true
        local eh ew
        eh=$(printf '%s' "$HERE" | sed 's/[][\.*^$|]/\\&/g')
        ew=$(printf '%s' "$WORKDIR" | sed 's/[][\.*^$|]/\\&/g')
        find "$RESULTS_DIR" -type f -exec sed -i -e "s|$ew|<workdir>|g" -e "s|$eh|<harness>|g" {} + 2>/dev/null || true
    fi
    if [[ $KEEP_WORKDIR == 1 ]]; then
        log "kept $WORKDIR"
    else
        rm -rf "$WORKDIR"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Priority through /proc/PID/autogroup once the child is its own session (see proxy_bench.sh).
set_prio() {
    local i st sid
    [[ $NICE == 0 ]] && return 0
    for i in $(seq 1 200); do
        st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
        st=${st##*) }
        read -r _ _ _ sid _ <<<"$st"
        if [[ $sid == "$1" ]]; then
            if [[ -w /proc/$1/autogroup ]]; then echo "$NICE" >"/proc/$1/autogroup" 2>/dev/null || true; fi
            return 0
        fi
        sleep 0.005
    done
    log "warning: pid $1 did not become a session leader; priority left alone"
}

# start_bg NAME CPU CMD... : start CMD in its own session/process group.
start_bg() {
    local name=$1 cpu=$2 pid
    shift 2
    if [[ $NICE != 0 ]]; then set -- nice -n "$NICE" "$@"; fi
    if [[ $PIN == 1 && -n $cpu ]]; then
        setsid taskset -c "$cpu" "$@" >"$WORKDIR/$name.log" 2>&1 </dev/null &
    else
        setsid "$@" >"$WORKDIR/$name.log" 2>&1 </dev/null &
    fi
    pid=$!
    STARTED+=("$pid")
    PID_OF[$name]=$pid
    set_prio "$pid"
}

port_busy() { [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]; }

# probe TARGET PORT -> prints "ok" or what went wrong (one line).
probe() {
    local t=$1 port=$2 out hdr
    if ((GRPC)); then
        hdr="$WORKDIR/probe_$t.hdr"
        local -a how=(--http2-prior-knowledge "http://127.0.0.1:$port/bench.Bench/Unary")
        if ((TLS)) && [[ $t != limit && $t != upstream* ]]; then
            how=(-k --http2 "https://127.0.0.1:$port/bench.Bench/Unary")   # ALPN h2
        fi
        out=$(curl -s --max-time 1 -o /dev/null -D "$hdr" -w '%{http_code} %{http_version}' \
            -X POST -H 'content-type: application/grpc' -H 'te: trailers' --data-binary "@$REQ_FILE" \
            "${how[@]}" 2>/dev/null || true)
        if [[ $out != "200 2" ]]; then echo "HTTP '$out'"; return; fi
        if grep -qi '^grpc-status: *0' "$hdr"; then echo ok; else echo "no grpc-status 0 ($(grep -i '^grpc-' "$hdr" | tr -d '\r' | tr '\n' ' '))"; fi
    elif [[ $t == limit || $t == upstream* ]]; then
        out=$(curl -s -o /dev/null --max-time 1 -w '%{http_code} %{size_download}' "http://127.0.0.1:$port/" 2>/dev/null || true)
        if [[ $out == "200 100" ]]; then echo ok; else echo "'$out'"; fi
    else
        out=$(curl -s -k -o /dev/null --max-time 1 -w '%{http_code} %{size_download}' "https://127.0.0.1:$port/" 2>/dev/null || true)
        if [[ $out == "200 100" ]]; then echo ok; else echo "'$out'"; fi
    fi
}

# wait_ready NAME PORT: until the probe passes.
wait_ready() {
    local name=$1 port=$2 i res=
    for i in $(seq 1 100); do
        if ! group_alive "${PID_OF[$name]}"; then
            log "$name exited; its log:"; tail -n 20 "$WORKDIR/$name.log" >&2 || true
            die "$name failed to start"
        fi
        res=$(probe "$name" "$port")
        [[ $res == ok ]] && return 0
        sleep 0.1
    done
    log "$name log:"; tail -n 20 "$WORKDIR/$name.log" >&2 || true
    die "$name did not answer on port $port (last: $res)"
}

# Sum of utime+stime (clock ticks) over every process of group $1.
group_ticks() {
    local p st t=0
    local -a f
    for p in $(pgrep -g "$1" 2>/dev/null); do
        st=$(cat "/proc/$p/stat" 2>/dev/null) || continue
        st=${st##*) }
        read -r -a f <<<"$st"
        t=$((t + f[11] + f[12]))
    done
    echo "$t"
}

cpu_snapshot() {
    awk '$1 ~ /^cpu[0-9]*$/ { b = $2 + $3 + $4 + $7 + $8; t = b + $5 + $6 + $9; busy[$1] = b; tot[$1] = t; irq[$1] = $7 + $8; st[$1] = $9 }
        END { print busy["cpu0"] + 0, tot["cpu0"] + 0, busy["cpu1"] + 0, tot["cpu1"] + 0, busy["cpu"], tot["cpu"], irq["cpu"], st["cpu"] }' /proc/stat
}

CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- topology
UP_PORTS=()
for i in $(seq 1 "$NUM_UPSTREAMS"); do UP_PORTS+=($((BASE_PORT + i))); done
NGINX_PORT=$((BASE_PORT + 20))
HAPROXY_PORT=$((BASE_PORT + 21))
CAND_PORT=$((BASE_PORT + 22))
UPSTREAMS=$(printf '127.0.0.1:%s,' "${UP_PORTS[@]}"); UPSTREAMS=${UPSTREAMS%,}
UPSTREAMS_H2C=$(printf 'h2c://127.0.0.1:%s,' "${UP_PORTS[@]}"); UPSTREAMS_H2C=${UPSTREAMS_H2C%,}
UPSTREAM_PORTS=$(IFS=,; echo "${UP_PORTS[*]}")

TARGETS=()
for p in $PEERS; do
    case $p in limit|nginx|haproxy) TARGETS+=("$p") ;; *) die "unknown peer '$p' in PEERS" ;; esac
done
if [[ -n $CANDIDATE_CMD ]]; then
    case $CANDIDATE_NAME in
        limit|nginx|haproxy|upstream*|*[!A-Za-z0-9_.-]*) die "CANDIDATE_NAME '$CANDIDATE_NAME' is reserved or has odd characters" ;;
    esac
    TARGETS+=("$CANDIDATE_NAME")
fi
((${#TARGETS[@]} > 0)) || die "nothing to measure"
for p in "${UP_PORTS[@]}" "$NGINX_PORT" "$HAPROXY_PORT" "$CAND_PORT"; do
    port_busy "$p" && die "port $p already in use (set BASE_PORT)"
done
declare -A PORT_OF=([limit]=${UP_PORTS[0]} [nginx]=$NGINX_PORT [haproxy]=$HAPROXY_PORT)
PORT_OF[$CANDIDATE_NAME]=$CAND_PORT
has_target() { local t; for t in "${TARGETS[@]}"; do [[ $t == "$1" ]] && return 0; done; return 1; }

# One certificate for every TLS endpoint (made in both scenarios: a gRPC candidate may want it).
CERT="$WORKDIR/tls/cert.pem"
KEY="$WORKDIR/tls/key.pem"
mkdir -p "$WORKDIR/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' -keyout "$KEY" -out "$CERT" >"$WORKDIR/openssl.log" 2>&1 ||
    { cat "$WORKDIR/openssl.log" >&2; die "openssl could not make the certificate"; }
chmod 600 "$KEY"

# The gRPC request: one length-prefixed message (flag 0, 4-byte big-endian length, payload =
# protobuf field 1 of REQ_BYTES - 2 bytes).
REQ_FILE="$WORKDIR/request.grpc"
if ((GRPC)); then
    ((REQ_BYTES >= 2 && REQ_BYTES < 130)) || die "REQ_BYTES must be 2..129"
    byte() { printf '%b' "\\x$(printf %02x "$1")"; }
    {
        byte 0
        byte $((REQ_BYTES >> 24 & 255)); byte $((REQ_BYTES >> 16 & 255))
        byte $((REQ_BYTES >> 8 & 255)); byte $((REQ_BYTES & 255))
        byte 10
        byte $((REQ_BYTES - 2))
        head -c $((REQ_BYTES - 2)) /dev/zero | tr '\0' 'q'
    } >"$REQ_FILE"
    [[ $(stat -c %s "$REQ_FILE") == $((REQ_BYTES + 5)) ]] || die "request file has the wrong size"
fi

for i in "${!UP_PORTS[@]}"; do
    if ((GRPC)); then
        start_bg "upstream$((i + 1))" "$LOAD_CPU" "$HERE/launch/upstream_grpc.sh" "${UP_PORTS[$i]}" "$WORKDIR/upstream$((i + 1))" "$UPSTREAM_DELAY_US"
    else
        start_bg "upstream$((i + 1))" "$LOAD_CPU" "$HERE/launch/upstream_nginx.sh" "${UP_PORTS[$i]}" "$WORKDIR/upstream$((i + 1))" 0
    fi
done
for i in "${!UP_PORTS[@]}"; do wait_ready "upstream$((i + 1))" "${UP_PORTS[$i]}"; done

if has_target nginx; then
    if [[ $SCENARIO == grpc ]]; then
        start_bg nginx "$PROXY_CPU" "$HERE/launch/grpc_proxy_nginx.sh" "$NGINX_PORT" "$UPSTREAMS" "$WORKDIR/nginx"
    elif [[ $SCENARIO == grpcs ]]; then
        start_bg nginx "$PROXY_CPU" "$HERE/launch/grpc_proxy_nginx.sh" "$NGINX_PORT" "$UPSTREAMS" "$WORKDIR/nginx" "$CERT" "$KEY"
    else
        start_bg nginx "$PROXY_CPU" "$HERE/launch/https_proxy_nginx.sh" "$NGINX_PORT" "$UPSTREAMS" "$WORKDIR/nginx" "$CERT" "$KEY"
    fi
fi
if has_target haproxy; then
    if [[ $SCENARIO == grpc ]]; then
        start_bg haproxy "$PROXY_CPU" "$HERE/launch/grpc_proxy_haproxy.sh" "$HAPROXY_PORT" "$UPSTREAMS" "$WORKDIR/haproxy"
    elif [[ $SCENARIO == grpcs ]]; then
        start_bg haproxy "$PROXY_CPU" "$HERE/launch/grpc_proxy_haproxy.sh" "$HAPROXY_PORT" "$UPSTREAMS" "$WORKDIR/haproxy" "$CERT" "$KEY"
    else
        start_bg haproxy "$PROXY_CPU" "$HERE/launch/https_proxy_haproxy.sh" "$HAPROXY_PORT" "$UPSTREAMS" "$WORKDIR/haproxy" "$CERT" "$KEY"
    fi
fi
if [[ -n $CANDIDATE_CMD ]]; then
    cwd="$WORKDIR/candidate"
    mkdir -p "$cwd"
    cmd=$CANDIDATE_CMD
    cmd=${cmd//"{PORT}"/"$CAND_PORT"}
    cmd=${cmd//"{UPSTREAMS_H2C}"/"$UPSTREAMS_H2C"}
    cmd=${cmd//"{UPSTREAMS}"/"$UPSTREAMS"}
    cmd=${cmd//"{UPSTREAMS_SPACE}"/"${UPSTREAMS//,/ }"}
    cmd=${cmd//"{UPSTREAM_PORTS}"/"$UPSTREAM_PORTS"}
    cmd=${cmd//"{WORKDIR}"/"$cwd"}
    cmd=${cmd//"{HERE}"/"$HERE"}
    cmd=${cmd//"{CERT}"/"$CERT"}
    cmd=${cmd//"{KEY}"/"$KEY"}
    printf '%s\n' "$cmd" >"$WORKDIR/candidate_cmd.txt"
    log "candidate command: $CANDIDATE_CMD  ({PORT}=$CAND_PORT {UPSTREAMS}=$UPSTREAMS)"
    BENCH_PORT=$CAND_PORT BENCH_UPSTREAMS=$UPSTREAMS BENCH_WORKDIR=$cwd BENCH_HERE=$HERE BENCH_CERT=$CERT BENCH_KEY=$KEY \
        start_bg "$CANDIDATE_NAME" "$PROXY_CPU" bash -c "$cmd"
fi
for t in "${TARGETS[@]}"; do
    [[ $t == limit ]] || wait_ready "$t" "${PORT_OF[$t]}"
done
log "all targets answer; scenario $SCENARIO; upstreams: $UPSTREAMS"

# TLS as a default OpenSSL client negotiates it with each proxy (the same for every peer?).
declare -A TLS_OF=()
if ((TLS)); then
    for t in "${TARGETS[@]}"; do
        [[ $t == limit ]] && continue
        alpn=http/1.1; ((GRPC)) && alpn=h2
        TLS_OF[$t]=$(openssl s_client -connect "127.0.0.1:${PORT_OF[$t]}" -alpn "$alpn" </dev/null 2>/dev/null |
            awk '/^New, / { sub(/^New, /, ""); sub(/, Cipher is /, " "); v = $0 } /^ALPN protocol: / { a = $3 }
                END { print v (a != "" ? ", ALPN " a : ", no ALPN") }')
    done
fi

# ---------------------------------------------------------------- measuring
RAW="$WORKDIR/raw.tsv"
printf 'rep\ttarget\trps\tp50_us\tp90_us\tp99_us\tp999_us\tmax_us\terrors\tstatus_errors\tproxy_cpu_pct\tproxy_us_per_req\tcpu0_busy_pct\tcpu1_busy_pct\tothers_cpu_pct\tsteal_pct\trequests\tupstream_calls\tupstream_spread\n' >"$RAW"

# run_load SECONDS PORT OUTFILE: the load tool (own session, pinned, prioritized); writes one
# line "LOADSTAT requests=.. duration_s=.. rps=.. p50_us=.. ..." to OUTFILE.stat.
run_load() {
    local secs=$1 port=$2 out=$3
    local -a c
    if ((GRPC)); then
        local scheme=http
        ((TLS)) && [[ $port != "${UP_PORTS[0]}" ]] && scheme=https   # h2load: ALPN h2 over TLS
        c=(h2load -t 1 -c "$CONNS" -m "$STREAMS" -D "$secs" --log-file="$out.reqlog"
            -d "$REQ_FILE" -H 'content-type: application/grpc' -H 'te: trailers'
            "$scheme://127.0.0.1:$port/bench.Bench/Unary")
    else
        local url="https://127.0.0.1:$port/"
        [[ $port == "${UP_PORTS[0]}" ]] && url="http://127.0.0.1:$port/"
        c=(wrk -t1 "-c$CONNS" "-d${secs}s" --latency -s "$HERE/wrk_report.lua" "$url")
    fi
    if [[ $PIN == 1 ]]; then c=(taskset -c "$LOAD_CPU" "${c[@]}"); fi
    if [[ $NICE != 0 ]]; then c=(nice -n "$NICE" "${c[@]}"); fi
    setsid "${c[@]}" >"$out" 2>&1 </dev/null &
    LOAD_PID=$!
    set_prio "$LOAD_PID"
    wait "$LOAD_PID" || true
    LOAD_PID=
}

# The result line of a finished run_load (h2load: totals from its summary, latency
# percentiles over the successful requests of its per-request log).
load_stat() { # OUTFILE
    local out=$1
    if ((!GRPC)); then
        grep '^WRKSTAT ' "$out" | sed 's/^WRKSTAT //'
        return
    fi
    local fin req
    fin=$(grep '^finished in ' "$out" || true)
    req=$(grep '^requests: ' "$out" || true)
    [[ -n $fin && -n $req ]] || return 0
    awk -F'\t' '$2 >= 200 && $2 < 300 { print $3 }' "$out.reqlog" | sort -n |
        awk -v fin="$fin" -v req="$req" '
        { a[NR] = $1; s += $1 }
        function pct(p,  i) { if (NR == 0) return 0; i = int(p / 100 * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; return a[i] }
        END {
            split(fin, f, /[ ,]+/); secs = f[3]; sub(/s$/, "", secs)
            split(req, r, /[ ,]+/)   # requests: N total, N started, N done, N succeeded, N failed, N errored, N timeout
            succ = r[8]; failed = r[10]; errored = r[12]; tmo = r[14]
            printf "requests=%d duration_s=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d mean_us=%.1f errors=%d status_errors=%d\n",
                succ, secs, (secs > 0 ? succ / secs : 0), pct(50), pct(90), pct(99), pct(99.9), (NR ? a[NR] : 0),
                (NR ? s / NR : 0), errored + tmo, failed
        }'
}

# gRPC upstreams: "answered" counters (SIGUSR1 makes each print one line to its log).
upstream_counts() {
    local i pid log before line
    for i in "${!UP_PORTS[@]}"; do
        pid=${PID_OF[upstream$((i + 1))]}
        log="$WORKDIR/upstream$((i + 1)).log"
        before=$(grep -c '^answered ' "$log" || true)
        # the launcher exec'd the binary: its process group is grpc_upstream alone
        kill -USR1 -- "-$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            (($(grep -c '^answered ' "$log" || true) > before)) && break
            sleep 0.01
        done
        line=$(grep '^answered ' "$log" | tail -n 1)
        printf '%s ' "${line#answered }"
    done
    echo
}

children_ticks() {
    times >"$WORKDIR/times.txt"
    CHILD_TICKS=$(awk -v hz="$CLK_TCK" 'NR == 2 { n = split($0, f, " "); t = 0
        for (i = 1; i <= n; i++) { split(f[i], ms, "m"); sub(/s$/, "", ms[2]); t += ms[1] * 60 + ms[2] }
        printf "%d\n", t * hz + 0.5 }' "$WORKDIR/times.txt")
}

ours_ticks() {
    local pid t=0
    for pid in "${STARTED[@]}"; do t=$((t + $(group_ticks "$pid"))); done
    echo "$t"
}

measure() { # rep target
    local rep=$1 t=$2 port=${PORT_OF[$2]} out line pg="" p0=0 p1=0 o0 o1 w0 w1 s0 s1 u0="" u1=""
    [[ $t != limit ]] && pg=${PID_OF[$t]}
    out="$WORKDIR/load_${t}_rep${rep}.log"
    ((GRPC)) && u0=$(upstream_counts)
    [[ -n $pg ]] && p0=$(group_ticks "$pg")
    o0=$(ours_ticks); children_ticks; w0=$CHILD_TICKS; s0=$(cpu_snapshot)
    run_load "$DURATION" "$port" "$out"
    s1=$(cpu_snapshot); children_ticks; w1=$CHILD_TICKS; o1=$(ours_ticks)
    [[ -n $pg ]] && p1=$(group_ticks "$pg")
    ((GRPC)) && u1=$(upstream_counts)
    if [[ -n $pg ]] && ! group_alive "$pg"; then
        tail -n 20 "$WORKDIR/$t.log" >&2 || true
        die "$t died during the measurement"
    fi
    line=$(load_stat "$out")
    [[ -n $line ]] || { cat "$out" >&2; die "the load tool produced no result for $t"; }
    rm -f "$out.reqlog"
    awk -v rep="$rep" -v t="$t" -v line="$line" -v pg="$pg" -v dp=$((p1 - p0)) -v hz="$CLK_TCK" \
        -v dours=$((o1 - o0 + w1 - w0)) -v s0="$s0" -v s1="$s1" -v u0="$u0" -v u1="$u1" 'BEGIN {
        n = split(line, kv, " ")
        for (i = 1; i <= n; i++) { split(kv[i], p, "="); v[p[1]] = p[2] }
        split(s0, a, " "); split(s1, b, " ")
        c0 = (b[2] - a[2]) > 0 ? 100 * (b[1] - a[1]) / (b[2] - a[2]) : 0
        c1 = (b[4] - a[4]) > 0 ? 100 * (b[3] - a[3]) / (b[4] - a[4]) : 0
        ncpu = ((b[2] - a[2]) > 0) + ((b[4] - a[4]) > 0); if (ncpu == 0) ncpu = 1
        wall = (b[6] - a[6]) / ncpu
        other = wall > 0 ? 100 * ((b[5] - a[5]) - dours) / wall : 0
        if (other < 0) other = 0
        st = (b[6] - a[6]) > 0 ? 100 * (b[8] - a[8]) / (b[6] - a[6]) : 0
        if (pg != "") {
            pcpu = sprintf("%.1f", 100 * dp / hz / v["duration_s"])
            pus = v["requests"] > 0 ? sprintf("%.2f", 1e6 * dp / hz / v["requests"]) : "nan"
        } else { pcpu = "-"; pus = "-" }
        # calls that reached the upstreams, and max/min share over the upstreams (1.00 = even)
        calls = "-"; spread = "-"
        if (u0 != "") {
            m = split(u0, x, " "); split(u1, y, " "); calls = 0; lo = -1; hi = 0
            for (i = 1; i <= m; i++) { d = y[i] - x[i]; calls += d; if (lo < 0 || d < lo) lo = d; if (d > hi) hi = d }
            if (pg != "") spread = lo > 0 ? sprintf("%.2f", hi / lo) : "inf"   # (limit: upstream 1 only)
        }
        printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t%s\t%s\n", rep, t, v["rps"],
            v["p50_us"], v["p90_us"], v["p99_us"], v["p999_us"], v["max_us"], v["errors"], v["status_errors"],
            pcpu, pus, c0, c1, other, st, v["requests"], calls, spread
    }' >>"$RAW"
    log "$(tail -n 1 "$RAW" | awk -F'\t' '{ printf "rep %s %-10s %10.0f rps  p50 %6.3f ms  p99 %7.3f ms  proxy cpu %s%%  us/req %s  others %s%%  err %d", $1, $2, $3, $4/1000, $6/1000, $11, $12, $15, $9 + $10
        if ($18 != "-") printf "  upstream calls %s spread %s", $18, $19 }')"
}

wait_quiet() {
    local deadline=$((SECONDS + QUIET_WAIT)) o0 o1 s0 s1 busy
    ((QUIET_WAIT > 0)) || return 0
    while :; do
        o0=$(ours_ticks); s0=$(cpu_snapshot)
        sleep 1
        s1=$(cpu_snapshot); o1=$(ours_ticks)
        busy=$(awk -v s0="$s0" -v s1="$s1" -v d=$((o1 - o0)) 'BEGIN { split(s0, a, " "); split(s1, b, " ")
            n = ((b[2] - a[2]) > 0) + ((b[4] - a[4]) > 0); if (n == 0) n = 1
            w = (b[6] - a[6]) / n; x = w > 0 ? 100 * ((b[5] - a[5]) - d) / w : 0; printf "%d", (x < 0 ? 0 : x) }')
        ((busy <= QUIET_MAX)) && return 0
        if ((SECONDS >= deadline)); then
            log "other tenants use ${busy}% of a CPU; measuring anyway"
            return 0
        fi
        log "other tenants use ${busy}% of a CPU; waiting for quiet"
    done
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
if ((WARMUP > 0)); then
    for t in "${TARGETS[@]}"; do
        log "warm-up $t (${WARMUP}s)"
        run_load "$WARMUP" "${PORT_OF[$t]}" "$WORKDIR/load_${t}_warmup.log"
        rm -f "$WORKDIR/load_${t}_warmup.log.reqlog"
        sleep "$GAP"
    done
fi
for rep in $(seq 1 "$REPS"); do
    for t in "${TARGETS[@]}"; do
        wait_quiet
        measure "$rep" "$t"
        sleep "$GAP"
    done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report
col() { # target column-number -> median over reps
    awk -F'\t' -v t="$1" -v c="$2" 'NR > 1 && $2 == t && $c != "-" { print $c }' "$RAW" | sort -g |
        awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
colsum() { awk -F'\t' -v t="$1" -v c="$2" 'NR > 1 && $2 == t { s += $c } END { print s + 0 }' "$RAW"; }
per_rep() { awk -F'\t' -v t="$1" 'NR > 1 && $2 == t { printf "%s%.0f", sep, $3; sep = " " }' "$RAW"; }
dash() { # value [printf-format]
    if [[ $1 == nan ]]; then echo -; else awk -v x="$1" -v f="${2:-%s}" 'BEGIN { printf f "\n", x }'; fi
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
paired() {
    awk -F'\t' -v a="$1" -v b="$2" -v c="$3" 'NR > 1 && $2 == a { x[$1] = $c } NR > 1 && $2 == b { y[$1] = $c }
        END { for (r in x) if ((r in y) && y[r] > 0) print x[r] / y[r] }' "$RAW" | sort -g |
        awk '{ a[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) printf "%.2f", a[(NR + 1) / 2]; else printf "%.2f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

declare -A RPS P99 USR
pin_desc="proxies on CPU $PROXY_CPU, load tool + upstreams on CPU $LOAD_CPU (taskset)"
[[ $PIN == 1 ]] || pin_desc="unpinned (no taskset)"
echo "# grpc_https_bench $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "# machine: $(nproc) CPUs, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1), kernel $(uname -r)"
if ((GRPC)); then
    echo "# nginx $(nginx -v 2>&1 | sed 's|.*nginx/||'), haproxy $(haproxy -v | head -n 1 | awk '{ print $3 }'), $(h2load --version | head -n 1)"
    front="h2c"; ((TLS)) && front="TLS + ALPN h2 (EC P-256 certificate, the same for all; limit: h2c)"
    echo "# scenario=$SCENARIO: $NUM_UPSTREAMS h2c gRPC upstreams (grpc_upstream, reply ${GRPC_REPLY_BYTES} B, delay ${UPSTREAM_DELAY_US} us);" \
        "client side $front; h2load -t1 -c$CONNS -m$STREAMS ($((CONNS * STREAMS)) streams) -D$DURATION, unary calls of ${REQ_BYTES} B;" \
        "reps=$REPS (interleaved) warmup=${WARMUP}s"
else
    echo "# nginx $(nginx -v 2>&1 | sed 's|.*nginx/||'), haproxy $(haproxy -v | head -n 1 | awk '{ print $3 }'), wrk $(wrk -v 2>&1 | head -n 1 | awk '{ print $2 }'), $(openssl version | awk '{ print $1, $2 }')"
    echo "# scenario=https: $NUM_UPSTREAMS nginx upstreams (HTTP/1.1, 100-byte body); TLS terminated by the proxy (EC P-256 certificate," \
        "the same for all); wrk -t1 -c$CONNS -d${DURATION}s keep-alive; reps=$REPS (interleaved) warmup=${WARMUP}s; limit = plain HTTP to upstream 1"
fi
if ((TLS)); then
    for t in "${TARGETS[@]}"; do [[ $t == limit ]] || echo "# TLS with $t: ${TLS_OF[$t]:-?}"; done
fi
echo "# nice=$NICE quiet_wait=${QUIET_WAIT}s nginx_upstream_keepalive=$NGINX_UPSTREAM_KEEPALIVE"
echo "# pinning: $pin_desc; loadavg before: $LOAD_BEFORE after: $LOAD_AFTER"
[[ -n $CANDIDATE_CMD ]] && echo "# $CANDIDATE_NAME: $CANDIDATE_CMD"
[[ -z ${BENCH_NOTE:-} ]] || echo "# $BENCH_NOTE"
echo "# medians over reps; latency in ms; proxy_cpu% = CPU time of the proxy's process group / wall time;"
echo "# us/req = proxy CPU microseconds per request; others% = CPU used meanwhile by processes that are not"
echo "# part of the benchmark (other tenants), in % of one CPU"
if ((GRPC)); then
    echo "# up_calls/req = calls the upstreams answered / calls h2load counted as 2xx (1.00: every success was a"
    echo "# real upstream answer); spread = busiest / least busy upstream (1.00 = calls spread evenly)"
fi
printf '%-12s %10s %8s %8s %9s %7s %10s %7s %6s %6s %7s' target rps p50_ms p99_ms p99.9_ms errors proxy_cpu% us/req cpu0% cpu1% others%
((GRPC)) && printf ' %13s %6s' up_calls/req spread
printf '  %s\n' "rps per rep"
for t in "${TARGETS[@]}"; do
    RPS[$t]=$(col "$t" 3)
    P99[$t]=$(col "$t" 6)
    USR[$t]=$(col "$t" 12)
    printf '%-12s %10.0f %8.3f %8.3f %9.3f %7d %10s %7s %6.0f %6.0f %7.0f' "$t" "${RPS[$t]}" \
        "$(awk -v x="$(col "$t" 4)" 'BEGIN { print x / 1000 }')" \
        "$(awk -v x="${P99[$t]}" 'BEGIN { print x / 1000 }')" \
        "$(awk -v x="$(col "$t" 7)" 'BEGIN { print x / 1000 }')" \
        "$(($(colsum "$t" 9) + $(colsum "$t" 10)))" "$(dash "$(col "$t" 11)" %.1f)" "$(dash "${USR[$t]}" %.2f)" \
        "$(col "$t" 13)" "$(col "$t" 14)" "$(col "$t" 15)"
    if ((GRPC)); then
        printf ' %13s %6s' "$(ratio "$(colsum "$t" 18)" "$(colsum "$t" 17)")" "$(dash "$(col "$t" 19)" %.2f)"
    fi
    printf '  %s\n' "$(per_rep "$t")"
done
if ((GRPC)); then
    for t in "${TARGETS[@]}"; do
        r=$(ratio "$(colsum "$t" 18)" "$(colsum "$t" 17)")
        if [[ $r != n/a ]] && awk -v r="$r" 'BEGIN { exit !(r < 0.99) }'; then
            echo "# WARNING: $t: only $r of the calls h2load counted as HTTP 200 reached an upstream: the rest were"
            echo "#          answered by the proxy itself (a gRPC error in HTTP 200 trailers?); its rps overstates it"
        fi
    done
fi
max_other=$(awk -F'\t' -v pin="$PIN" 'NR > 1 && !(pin == 1 && $2 == "limit") && $15 > m { m = $15 } END { printf "%.0f", m + 0 }' "$RAW")
if ((max_other > 5)); then
    echo "# WARNING: other tenants used up to ${max_other}% of a CPU during a measurement; absolute numbers are"
    echo "#          disturbed (ratios from the same run are still comparable, but less so); rerun when quieter"
fi
echo "# ratios (rps: higher is better for the numerator; p99, us/req: lower is better); 'paired' = median of per-rep ratios"
pair_line() { # a b
    has_target "$1" && has_target "$2" || return 0
    printf '%-24s rps %s (paired %s)   p99 %s (paired %s)' "$1/$2" \
        "$(ratio "${RPS[$1]}" "${RPS[$2]}")" "$(paired "$1" "$2" 3)" \
        "$(ratio "${P99[$1]}" "${P99[$2]}")" "$(paired "$1" "$2" 6)"
    if [[ $2 != limit ]]; then
        printf '   us/req %s (paired %s)' "$(ratio "${USR[$1]}" "${USR[$2]}")" "$(paired "$1" "$2" 12)"
    fi
    printf '\n'
}
pair_line nginx limit
pair_line haproxy limit
pair_line haproxy nginx
if [[ -n $CANDIDATE_CMD ]]; then
    pair_line "$CANDIDATE_NAME" limit
    pair_line "$CANDIDATE_NAME" nginx
    pair_line "$CANDIDATE_NAME" haproxy
fi
if [[ -n $CANDIDATE_CMD ]]; then
    echo "candidate/haproxy rps ratio: $(ratio "${RPS[$CANDIDATE_NAME]}" "${RPS[haproxy]:-nan}")"
else
    echo "haproxy/nginx rps ratio: $(ratio "${RPS[haproxy]:-nan}" "${RPS[nginx]:-nan}")"
fi

#!/usr/bin/env bash
# make bench: wrk against the host firmware echo-server and Debian's nginx (the same bytes
# from memory), one core
# each for the server (taskset -c 0) and wrk (-c 1), same page, same run; printed as
# req/s and as a ratio to nginx, so the figure survives a noisy machine. Then the
# allocation count per request (LD_PRELOAD counter) and the server's resident memory.
set -euo pipefail
DURATION=${DURATION:-5s}
CONNS=${CONNS:-64}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT

# Servers on core 0, wrk on core 1 (taskset is in util-linux, always on Debian).

# Meerkat
taskset -c 0 build/host/bin/echo-server --listen http://127.0.0.1:18080 > "$tmp/meerkat.log" 2>&1 &
meerkat=$!
# nginx: one worker, keep-alive without a request limit, answering the same bytes from
# memory (return 200), as echo-server does: the same work on both sides.
chmod 755 "$tmp"
mkdir -p "$tmp/www"
curl -s --retry 20 --retry-connrefused --retry-delay 0 http://127.0.0.1:18080/ > "$tmp/www/index.html"
page=$(sed 's/\\/\\\\/g; s/"/\\"/g' "$tmp/www/index.html")
cat > "$tmp/nginx.conf" <<CONF
user $(id -un);
worker_processes 1;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:18081;
        location / { default_type "text/html; charset=utf-8"; return 200 "$page
"; }
    }
}
CONF
taskset -c 0 nginx -c "$tmp/nginx.conf" > "$tmp/nginx.log" 2>&1 &
curl -s --retry 20 --retry-connrefused --retry-delay 0 -o /dev/null http://127.0.0.1:18081/
# civetweb (an embeddable C server, Mongoose's relative): a thread per connection, so 64
# threads for 64 connections, keep-alive and TCP_NODELAY on (without it, 40 ms stalls).
taskset -c 0 civetweb -document_root "$tmp/www" -listening_ports 127.0.0.1:18082 -enable_keep_alive yes \
    -num_threads 64 -tcp_nodelay 1 -access_log_file /dev/null > "$tmp/civetweb.log" 2>&1 &
curl -s --retry 20 --retry-connrefused --retry-delay 0 -o /dev/null http://127.0.0.1:18082/

run() {  # name url -> prints "req/s errors"
  local out
  out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"$DURATION" "$2")
  local rps errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  errors=$(awk '/Socket errors|Non-2xx/ {s=s $0 "; "} END {print (s=="" ? "none" : s)}' <<<"$out")
  echo "$rps|$errors"
}

echo "machine: $(nproc) cores, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//'), $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "load: wrk -t1 -c$CONNS -d$DURATION, GET / (the $(stat -c %s "$tmp/www/index.html")-byte page), keep-alive; servers on core 0, wrk on core 1"
m=$(run meerkat http://127.0.0.1:18080/)
n=$(run nginx http://127.0.0.1:18081/)
c=$(run civetweb http://127.0.0.1:18082/)
mr=${m%%|*}; nr=${n%%|*}; cr=${c%%|*}
printf "| server | req/s | errors | ratio to nginx |\n|---|---|---|---|\n"
printf "| Meerkat echo-server (Embedded Swift) | %s | %s | %.2f |\n" "$mr" "${m#*|}" "$(echo "$mr / $nr" | bc -l)"
printf "| nginx 1 worker, the same bytes from memory (return 200) | %s | %s | 1.00 |\n" "$nr" "${n#*|}"
# civetweb cannot answer from memory: it serves the page as a file, so no ratio.
printf "| civetweb, 64 threads (static file: not the same work) | %s | %s | — |\n" "$cr" "${c#*|}"
echo "Meerkat resident memory after the run: $(awk '/VmRSS/ {print $2, $3}' /proc/$meerkat/status)"
echo "nginx worker resident memory: $(for p in $(pgrep -f 'nginx: worker'); do awk '/VmRSS/ {print $2, $3}' /proc/"$p"/status; done | head -1)"
make -s build/malloccount.so
python3 -m pytest -q -s Tests/integration/test_http.py -k zero_allocations 2>&1 | grep "allocations during" || true

# Memory with 1,000 idle keep-alive connections (each served one request first).
python3 - "$meerkat" <<'PY'
import socket, sys, time
pid = sys.argv[1]
rss = lambda: int(next(l.split()[1] for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS")))
before = rss()
conns = []
for _ in range(1000):
    s = socket.create_connection(("127.0.0.1", 18080))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while not data.endswith(b"</html>\n"):
        data += s.recv(4096)
    conns.append(s)
time.sleep(0.5)
after = rss()
print(f"Meerkat RSS with 1,000 idle keep-alive connections: {after} kB ({after - before:+d} kB over {before} kB before)")
PY

#!/usr/bin/env bash
# Headless Chromium (Debian's) loads a page of 30 assets (20 images, 5 scripts, 5 style
# sheets) served by nginx through a readygate TLS listener (issue 22): every asset must
# load, over h2 by the page's own Resource Timing, and all of the page's requests must
# have come on one HTTP/2 connection (readygate's session log counts streams per
# connection). Bounded: 60 s for Chromium.
# Usage: http2_browser_test.sh READYGATE
set -uo pipefail
readygate=$1
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/checks.sh"
# shellcheck source=../../scripts/background.sh
source "$here/../../scripts/background.sh"  # $work, $pids, background
chmod 755 "$work"  # nginx's worker may run as nobody

# The page: its load handler writes what arrived into #result, which --dump-dom prints.
mkdir -p "$work/www" "$work/nginx"
/usr/bin/python3 - "$work/www" <<'EOF'
import struct, sys, zlib
www = sys.argv[1]
def png(shade):
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(b"\x00" + bytes([shade, 100, 200]))) + chunk(b"IEND", b""))
head, body = [], []
for i in range(20):
    open(f"{www}/img{i}.png", "wb").write(png(i * 10))
    body.append(f'<img src="/img{i}.png" alt="">')
for i in range(5):
    open(f"{www}/s{i}.js", "w").write("window.loadedScripts = (window.loadedScripts || 0) + 1;\n")
    body.append(f'<script src="/s{i}.js"></script>')
    open(f"{www}/c{i}.css", "w").write(f".c{i} {{ color: #{i}{i}{i}; }}\n")
    head.append(f'<link rel="stylesheet" href="/c{i}.css">')
open(f"{www}/favicon.ico", "wb").write(png(0))
open(f"{www}/index.html", "w").write(
    '<!doctype html><html><head><meta charset="utf-8"><title>30 assets</title>' + "".join(head) +
    "</head><body>" + "".join(body) + '''<div id="result">pending</div>
<script>
window.addEventListener("load", () => {
  const images = [...document.images].filter((i) => i.naturalWidth > 0).length;
  const sheets = [...document.styleSheets].filter((s) => s.cssRules.length > 0).length;
  const entries = performance.getEntriesByType("resource");
  const h2 = entries.filter((e) => e.nextHopProtocol === "h2").length;
  const page = performance.getEntriesByType("navigation")[0].nextHopProtocol;
  document.getElementById("result").textContent =
    `images=${images} scripts=${window.loadedScripts || 0} sheets=${sheets} h2=${h2}/${entries.length} page=${page}`;
});
</script></body></html>''')
EOF

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=site.example.test" \
  -addext "subjectAltName=DNS:site.example.test" -keyout "$work/site.key" -out "$work/site.pem" 2>/dev/null

nginx_port=$(free_port) tls=$(free_port) admin=$(free_port)
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events {}
http {
  access_log off;
  include /etc/nginx/mime.types;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  server { listen 127.0.0.1:$nginx_port; root $work/www; }
}
EOF
background nginx.log /usr/sbin/nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;'
cat >"$work/readygate.yaml" <<EOF
admin: {listen: "127.0.0.1:$admin"}
workers: 1
services:
  - name: site
    listen: 127.0.0.1:$tls
    mode: http
    endpoints: {static: ["127.0.0.1:$nginx_port"]}
    tls:
      certificates:
        - {cert: $work/site.pem, key: $work/site.key}
EOF
background readygate.log "$readygate" -c "$work/readygate.yaml" --log-level debug

# Over HTTP/1.1, so every HTTP/2 session in the log is Chromium's.
up() { curl -fsk --http1.1 -o /dev/null --max-time 1 --resolve "site.example.test:$tls:127.0.0.1" "$1"; }
wait_for 10 up "https://site.example.test:$tls/index.html" || { cat "$work/readygate.log"; exit 1; }

# The certificate is made here and trusted by no store: the test is of HTTP/2, not PKI.
dom=$(timeout 60 chromium --headless=new --no-sandbox --disable-gpu --ignore-certificate-errors \
  --user-data-dir="$work/profile" --host-resolver-rules="MAP site.example.test 127.0.0.1" \
  --dump-dom "https://site.example.test:$tls/" 2>"$work/chromium.log")
result=$(grep -o '<div id="result">[^<]*' <<<"$dom" | sed 's/.*>//')
if [[ $result == "images=20 scripts=5 sheets=5 h2=30/30 page=h2" ]]; then
  pass "chromium: 30 of 30 assets loaded, each over h2 ($result)"
else
  fail "chromium: '$result'"
  tail -5 "$work/chromium.log"
fi

# Every stream of the page came on one connection: among the HTTP/2 sessions Chromium
# opened (it may open a spare one that carries nothing), one carried them all.
chromium_sessions() { grep 'event=session_closed.*mode=http2' "$work/readygate.log"; }
seen() { chromium_sessions >/dev/null; }
wait_for 10 seen || kill -TERM "${pids[-1]}"  # shutdown closes the sessions, which logs them
wait_for 15 seen
carrying=$(chromium_sessions | grep -vc 'streams=0$')
most=$(chromium_sessions | sed 's/.*streams=//' | sort -n | tail -1)
if [[ $carrying == 1 ]] && ((most >= 31)); then
  pass "chromium: one h2 connection carried all $most streams"
else
  fail "chromium: $carrying connections carried streams (most: $most)"
  grep 'mode=http2' "$work/readygate.log" | tail -5
fi

finish http2_browser

#!/usr/bin/env bash
# The main job end to end on the embedded defaults, offline: build the fixture image into an OCI layout,
# inspect it, generate a cosign key pair, start a local transparency log (supplychain tlog serve), sign the
# image in the layout with upload to the log (cosign v2 .sig tag and v3 bundle), verify it with the log's
# evidence, copy it into a local registry (Debian's docker-registry, if installed), sign and verify it there
# (once with --tlog-online, proving inclusion in the log's current tree), show its tree and the log's
# checkpoint.
set -euo pipefail
cd "$(dirname "$0")"
python3 -c 'import supplychain, httpx, nacl' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check -e .
sc() { echo "+ supplychain $*" >&2; python3 -m supplychain "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 100); do python3 -c "import httpx; httpx.get('$1').raise_for_status()" 2>/dev/null && return; sleep 0.1; done; echo "$1 did not answer" >&2; exit 1; }
pids=()
trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done' EXIT

work=${DEMO_DIR:-$(mktemp -d)}
echo "== demo directory: $work"
python3 fixtures/build_images.py "$work/layout" >/dev/null

sc inspect "oci:$work/layout:single"
sc inspect "oci:$work/layout:multi"

# A key pair in cosign's format; the password comes from the environment, never from argv.
export SUPPLYCHAIN_PASSWORD=${SUPPLYCHAIN_PASSWORD-demo-only-password}
sc generate-key-pair --output-key-prefix "$work/cosign"

# A local Rekor-compatible transparency log on a free loopback port: its signing key stays in $work/tlog.
# sign trusts a loopback log's own key on first use; verify is told the key (log.pub) explicitly.
sc tlog init --dir "$work/tlog"
log_port=$(free_port)
python3 -m supplychain tlog serve --dir "$work/tlog" --addr "127.0.0.1:$log_port" --quiet 2>"$work/tlog.log" &
pids+=($!)
rekor_url="http://127.0.0.1:$log_port"
wait_for "$rekor_url/api/v1/log"
trust=(--rekor-url "$rekor_url" --rekor-public-key "$work/tlog/log.pub")

sc sign "oci:$work/layout:single" --key "$work/cosign.key" --reference-name demo.example/app --rekor-url "$rekor_url"
sc sign "oci:$work/layout:single" --key "$work/cosign.key" --reference-name demo.example/app --rekor-url "$rekor_url" \
  --format bundle
sc verify "oci:$work/layout:single" --key "$work/cosign.pub" --reference-name demo.example/app --check-reference \
  "${trust[@]}"

if command -v docker-registry >/dev/null; then
  port=$(free_port)
  cat >"$work/registry.yml" <<YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/registry}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
YAML
  docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
  pids+=($!)
  wait_for "http://127.0.0.1:$port/v2/"
  image="127.0.0.1:$port/demo/app:1.0"
  sc copy "oci:$work/layout:multi" "$image"
  sc inspect "$image" --platform linux/arm64
  export SUPPLYCHAIN_REKOR_URL=$rekor_url   # the same as --rekor-url: sign logs every signature there
  sc sign "$image" --key "$work/cosign.key" --recursive -a env=demo
  sc sign "$image" --key "$work/cosign.key" --format bundle -a env=demo
  sc verify "$image" --key "$work/cosign.pub" -a env=demo --check-reference "${trust[@]}" --tlog-online
  sc copy "$image" "oci:$work/roundtrip:1.0"
  sc tree "$image"
else
  echo "== docker-registry not installed (apt-get install docker-registry): skipping the registry part"
  sc tree "oci:$work/layout:multi"
fi
sc tlog info "${trust[@]}"
echo "== demo done"

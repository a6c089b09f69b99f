#!/usr/bin/env bash
# The main job end to end on the embedded defaults, offline: build the fixture image into an OCI layout,
# inspect it, copy it into a local registry (Debian's docker-registry, if installed), and show its tree.
set -euo pipefail
cd "$(dirname "$0")"
python3 -c 'import supplychain, httpx, nacl' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check -e .
sc() { echo "+ supplychain $*" >&2; python3 -m supplychain "$@"; }

work=${DEMO_DIR:-$(mktemp -d)}
echo "== demo directory: $work"
python3 fixtures/build_images.py "$work/layout" >/dev/null

sc inspect "oci:$work/layout:single"
sc inspect "oci:$work/layout:multi"

if command -v docker-registry >/dev/null; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  cat >"$work/registry.yml" <<YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/registry}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
YAML
  docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
  registry_pid=$!
  trap 'kill $registry_pid 2>/dev/null || true' EXIT
  for _ in $(seq 100); do python3 -c "import httpx; httpx.get('http://127.0.0.1:$port/v2/')" 2>/dev/null && break; sleep 0.1; done
  sc copy "oci:$work/layout:multi" "127.0.0.1:$port/demo/app:1.0"
  sc inspect "127.0.0.1:$port/demo/app:1.0" --platform linux/arm64
  sc copy "127.0.0.1:$port/demo/app:1.0" "oci:$work/roundtrip:1.0"
  sc tree "127.0.0.1:$port/demo/app:1.0"
else
  echo "== docker-registry not installed (apt-get install docker-registry): skipping the registry part"
  sc tree "oci:$work/layout:multi"
fi
echo "== demo done"

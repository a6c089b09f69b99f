#!/usr/bin/env bash
# The main job end to end on the embedded defaults, offline: build the fixture image into an OCI layout,
# inspect it, generate a cosign key pair, sign and verify the image in the layout, copy it into a local
# registry (Debian's docker-registry, if installed), sign it there as cosign v2 (.sig tag) and v3 (bundle
# referrer) do, verify both, and show its tree.
set -euo pipefail
cd "$(dirname "$0")"
python3 -c 'import supplychain, httpx, nacl' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check -e .
sc() { echo "+ supplychain $*" >&2; python3 -m supplychain "$@"; }

work=${DEMO_DIR:-$(mktemp -d)}
echo "== demo directory: $work"
python3 fixtures/build_images.py "$work/layout" >/dev/null

sc inspect "oci:$work/layout:single"
sc inspect "oci:$work/layout:multi"

# A key pair in cosign's format; the password comes from the environment, never from argv.
export SUPPLYCHAIN_PASSWORD=${SUPPLYCHAIN_PASSWORD-demo-only-password}
sc generate-key-pair --output-key-prefix "$work/cosign"
sc sign "oci:$work/layout:single" --key "$work/cosign.key" --reference-name demo.example/app
sc verify "oci:$work/layout:single" --key "$work/cosign.pub" --reference-name demo.example/app --check-reference

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
  image="127.0.0.1:$port/demo/app:1.0"
  sc copy "oci:$work/layout:multi" "$image"
  sc inspect "$image" --platform linux/arm64
  sc sign "$image" --key "$work/cosign.key" --recursive -a env=demo
  sc sign "$image" --key "$work/cosign.key" --format bundle -a env=demo
  sc verify "$image" --key "$work/cosign.pub" -a env=demo --check-reference
  sc copy "$image" "oci:$work/roundtrip:1.0"
  sc tree "$image"
else
  echo "== docker-registry not installed (apt-get install docker-registry): skipping the registry part"
  sc tree "oci:$work/layout:multi"
fi
echo "== demo done"

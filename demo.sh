#!/usr/bin/env bash
# The main job end to end on the embedded defaults, offline: build the fixture image into an OCI layout,
# inspect it, generate a cosign key pair, sign the image in the layout (cosign v2 .sig tag and v3 bundle) and
# verify it with no log flags (sign records each signature in the default local transparency log, verify trusts
# its key), attest an SLSA provenance predicate for it and verify that attestation, generate its SBOM, attach,
# attest and download it and diff it against the arm64 image's, sign-blob and attest-blob a file
# and verify both (verify-blob, verify-blob-attestation), copy it into a local registry
# (Debian's docker-registry, if installed), sign and verify it there, show its tree; then serve that same log
# (supplychain tlog serve) to prove inclusion online and show its checkpoint.
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
# The default transparency log lives in $XDG_DATA_HOME/supplychain/tlog (~/.local/share/... when unset); the demo
# keeps it in its own directory so that it leaves nothing in your home. No log flag is given below.
export XDG_DATA_HOME="$work/data"
unset SUPPLYCHAIN_REKOR_URL
python3 fixtures/build_images.py "$work/layout" >/dev/null

sc inspect "oci:$work/layout:single"
sc inspect "oci:$work/layout:multi"

# A key pair in cosign's format; the password comes from the environment, never from argv.
export SUPPLYCHAIN_PASSWORD=${SUPPLYCHAIN_PASSWORD-demo-only-password}
sc generate-key-pair --output-key-prefix "$work/cosign"

sc sign "oci:$work/layout:single" --key "$work/cosign.key" --reference-name demo.example/app
sc sign "oci:$work/layout:single" --key "$work/cosign.key" --reference-name demo.example/app --format bundle
sc verify "oci:$work/layout:single" --key "$work/cosign.pub" --reference-name demo.example/app --check-reference

# An SLSA v1 provenance predicate for the image, attested (an in-toto statement in DSSE, logged in the same default
# log, stored as a v0.3 bundle referrer) and verified for that predicate type; stdout is cosign's, one DSSE
# envelope per line, whose payload is the statement.
cat >"$work/provenance.json" <<'JSON'
{"buildDefinition": {"buildType": "https://example.com/demo-build/v1",
                     "externalParameters": {"source": "git+https://example.com/demo/app@refs/heads/main"}},
 "runDetails": {"builder": {"id": "https://example.com/demo-builder"}}}
JSON
sc attest "oci:$work/layout:single" --key "$work/cosign.key" --reference-name demo.example/app \
  --type slsaprovenance1 --predicate "$work/provenance.json"
sc verify-attestation "oci:$work/layout:single" --key "$work/cosign.pub" --type slsaprovenance1 \
  | python3 -c 'import base64, json, sys; [print(json.dumps(json.loads(base64.b64decode(json.loads(l)["payload"]))["predicate"])) for l in sys.stdin]'

# The image's SBOM (CycloneDX 1.6 and SPDX 2.3, each package with its layer), attached as an OCI 1.1 referrer,
# attested (an in-toto statement of predicate type CycloneDX, signed and logged) and that attestation verified,
# downloaded back byte for byte, then compared with the arm64 image's SBOM (the same packages, built for arm64).
sc sbom generate "oci:$work/layout:single" -o "cyclonedx-json=$work/sbom.cdx.json" -o "spdx-json=$work/sbom.spdx.json"
sc attach sbom "oci:$work/layout:single" --sbom "$work/sbom.cdx.json"
sc attest "oci:$work/layout:single" --key "$work/cosign.key" --reference-name demo.example/app \
  --type cyclonedx --predicate "$work/sbom.cdx.json"
sc verify-attestation "oci:$work/layout:single" --key "$work/cosign.pub" --type cyclonedx >/dev/null
sc download sbom "oci:$work/layout:single" >"$work/downloaded.cdx.json"
cmp "$work/sbom.cdx.json" "$work/downloaded.cdx.json" && echo "== the downloaded SBOM is the one attached"
sc sbom generate "oci:$work/layout:multi" --platform linux/arm64 -o "cyclonedx-json=$work/sbom-arm64.cdx.json"
sc sbom diff "$work/sbom.cdx.json" "$work/sbom-arm64.cdx.json"

# A file, signed into a Sigstore bundle (a hashedrekord entry in the same default log) and verified offline; then
# attested with the same provenance predicate and that attestation verified for its predicate type.
printf 'demo release artifact\n' >"$work/artifact.txt"
sc sign-blob "$work/artifact.txt" --key "$work/cosign.key" --bundle "$work/artifact.txt.sigstore.json"
sc verify-blob "$work/artifact.txt" --key "$work/cosign.pub" --bundle "$work/artifact.txt.sigstore.json"
sc attest-blob "$work/artifact.txt" --key "$work/cosign.key" --type slsaprovenance1 \
  --predicate "$work/provenance.json" --bundle "$work/artifact.txt.intoto.sigstore.json"
sc verify-blob-attestation "$work/artifact.txt" --key "$work/cosign.pub" --type slsaprovenance1 \
  --bundle "$work/artifact.txt.intoto.sigstore.json"

image=""
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
  sc sign "$image" --key "$work/cosign.key" --recursive -a env=demo
  sc sign "$image" --key "$work/cosign.key" --format bundle -a env=demo
  sc verify "$image" --key "$work/cosign.pub" -a env=demo --check-reference
  sc copy "$image" "oci:$work/roundtrip:1.0"
  sc tree "$image"
else
  echo "== docker-registry not installed (apt-get install docker-registry): skipping the registry part"
  sc tree "oci:$work/layout:multi"
fi

# The default log is the same log `tlog serve` serves: serve it on a free loopback port (nothing signs meanwhile:
# one process at a time holds a log directory) to prove inclusion in its current tree and show its checkpoint.
log_dir="$XDG_DATA_HOME/supplychain/tlog"
log_port=$(free_port)
python3 -m supplychain tlog serve --dir "$log_dir" --addr "127.0.0.1:$log_port" --quiet 2>"$work/tlog.log" &
pids+=($!)
rekor_url="http://127.0.0.1:$log_port"
wait_for "$rekor_url/api/v1/log"
trust=(--rekor-url "$rekor_url" --rekor-public-key "$log_dir/log.pub")
sc verify "${image:-oci:$work/layout:single}" --key "$work/cosign.pub" "${trust[@]}" --tlog-online -o text
sc tlog info "${trust[@]}"
echo "== demo done"

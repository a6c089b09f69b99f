// Attach a Sigstore bundle to an image in a registry as an OCI referrer with @sigstore/oci, the library GitHub's
// actions/attest pushes attestations with (attachArtifactToImage: artifactType and layer media type = the bundle's
// own mediaType, the empty config, an org.opencontainers.image.created annotation, and the annotations given; the
// referrers tag where the registry has no referrers API). Used by tests/integration/test_attest_cli.py.
// usage: node attach-attestation.js IMAGE-NAME DIGEST BUNDLE.json [PREDICATE-TYPE]
//   IMAGE-NAME  host:port/repository (a loopback registry is spoken to over plain HTTP, as @sigstore/oci does)
//   PREDICATE-TYPE  when given, the annotations actions/attest sets: dev.sigstore.bundle.content=dsse-envelope and
//                   dev.sigstore.bundle.predicateType; without, none (a reader must look at the statement)
// Prints one JSON line: {"ok": true, "descriptor": ...} or {"ok": false, "error": "..."}.
const fs = require('fs');
const { attachArtifactToImage } = require('@sigstore/oci');

const [imageName, imageDigest, bundlePath, predicateType] = process.argv.slice(2);
const artifact = fs.readFileSync(bundlePath);
const annotations = predicateType ? { 'dev.sigstore.bundle.content': 'dsse-envelope',
                                      'dev.sigstore.bundle.predicateType': predicateType } : {};
attachArtifactToImage({ imageName, imageDigest, artifact, mediaType: JSON.parse(artifact).mediaType, annotations,
                        credentials: undefined })
  .then((descriptor) => console.log(JSON.stringify({ ok: true, descriptor })))
  .catch((e) => { console.log(JSON.stringify({ ok: false, error: `${e.message}`,
                                               cause: e.cause ? String(e.cause.message || e.cause) : null }));
                  process.exit(1); });

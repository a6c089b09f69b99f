// Verify a Sigstore bundle with sigstore-js (@sigstore/verify), offline, against a trusted_root.json (what
// `supplychain trusted-root create` wrote): certificate chain to its CAs, SCT against its CT logs (ctlogThreshold 1),
// tlog entry against its logs (tlogThreshold 1), and the identity policy. With a KEY.pem instead of an identity,
// the bundle's public-key hint is trusted as that key (the same hint sigstore-go computes).
// usage: node verify-keyless.js BUNDLE.json TRUSTED_ROOT.json ARTIFACT|- (--identity SAN --issuer URL | --key KEY.pem)
// ARTIFACT '-': a DSSE bundle (the statement is what is verified). Prints one JSON line: {"ok": true, ...} (exit 0)
// or {"ok": false, "error": "CODE: message"} (exit 1).
const fs = require('fs');
const crypto = require('crypto');
const { bundleFromJSON } = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');

const [bundlePath, rootPath, artifactPath, ...rest] = process.argv.slice(2);
const flags = {};
for (let i = 0; i < rest.length; i += 2) flags[rest[i].replace(/^--/, '')] = rest[i + 1];
const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
const trustedRoot = TrustedRoot.fromJSON(JSON.parse(fs.readFileSync(rootPath, 'utf8')));
const keys = {};
if (flags.key) {
  const der = crypto.createPublicKey(fs.readFileSync(flags.key, 'utf8')).export({ type: 'spki', format: 'der' });
  keys[crypto.createHash('sha256').update(der).digest('base64')] = { rawBytes: der, keyDetails: 0 };
}
const keyless = !flags.key;
const verifier = new Verifier(toTrustMaterial(trustedRoot, keys),
                              { tlogThreshold: 1, ctlogThreshold: keyless ? 1 : 0, timestampThreshold: 1 });
const artifact = artifactPath === '-' ? undefined : fs.readFileSync(artifactPath);
const policy = keyless ? { subjectAlternativeName: flags.identity, extensions: { issuer: flags.issuer } } : undefined;
let signer;
try {
  signer = verifier.verify(toSignedEntity(bundle, artifact), policy);
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: `${e.code || e.name}: ${e.message}` }));
  process.exit(1);
}
const identity = signer.identity || {};
console.log(JSON.stringify({ ok: true, san: identity.subjectAlternativeName || null,
                             issuer: (identity.extensions || {}).issuer || null,
                             timestampVerificationData: !!bundle.verificationMaterial.timestampVerificationData }));

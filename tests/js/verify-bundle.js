// Verify a Sigstore bundle with sigstore-js (@sigstore/verify), offline, against trust material naming only our
// key (and, when given, one Rekor v1 log). Used by tests/integration/test_verify_sigstore_js.py.
// usage: node verify-bundle.js BUNDLE.json KEY.pem [LOG-KEY.pem LOG-URL]
// Prints one JSON line: {"ok": true, ...} (exit 0) or {"ok": false, "error": "CODE: message"} (exit 1).
const fs = require('fs');
const crypto = require('crypto');
const { bundleFromJSON } = require('@sigstore/bundle');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');

const [bundlePath, keyPath, logKeyPath, logURL] = process.argv.slice(2);
const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
const spki = (path) => crypto.createPublicKey(fs.readFileSync(path, 'utf8')).export({ type: 'spki', format: 'der' });
const der = spki(keyPath);
// sigstore-go's key hint: base64(sha256(PKIX DER)); the trust material knows our key under that name only.
const hint = crypto.createHash('sha256').update(der).digest('base64');
const tlogs = [];
if (logKeyPath) {
  // A Rekor v1 log: log ID = sha256(PKIX DER) of its key (keyDetails 5 = PKIX_ECDSA_P256_SHA_256). sigstore-js
  // matches a checkpoint signer's name against baseUrl, hence a URL naming the log's host name.
  const logDer = spki(logKeyPath);
  tlogs.push({ baseUrl: logURL, hashAlgorithm: 1, publicKey: { rawBytes: logDer, keyDetails: 5 },
               logId: { keyId: crypto.createHash('sha256').update(logDer).digest() } });
}
const trustedRoot = { certificateAuthorities: [], timestampAuthorities: [], tlogs, ctlogs: [] };
const keys = { [hint]: { rawBytes: der, keyDetails: 0 } };
const verifier = new Verifier(toTrustMaterial(trustedRoot, keys),
                              { tlogThreshold: tlogs.length ? 1 : 0, ctlogThreshold: 0, timestampThreshold: 0 });
try {
  verifier.verify(toSignedEntity(bundle));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: `${e.code || e.name}: ${e.message}` }));
  process.exit(1);
}
const env = bundle.content.dsseEnvelope;
console.log(JSON.stringify({ ok: true, hint, payloadType: env.payloadType, tlogEntries: tlogs.length
                             ? bundle.verificationMaterial.tlogEntries.length : 0,
                             statement: JSON.parse(Buffer.from(env.payload).toString('utf8')) }));

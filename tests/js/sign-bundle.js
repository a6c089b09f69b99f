// Make a Sigstore bundle with sigstore-js (@sigstore/sign, @sigstore/bundle) and a key-based signer (no Fulcio):
// ECDSA P-256 over SHA-256, ASN.1 DER, as sigstore-js signs. Used by tests/integration/test_bundle_versions.py and
// tests/integration/test_sigstore_js_logs_dsse.py.
// usage: node sign-bundle.js MODE DATA KEY.pem KEY.pub [LOG-URL]
//   message   a message signature over DATA, logged as a hashedrekord entry in LOG-URL
//   dsse      a DSSE envelope of DATA (an in-toto statement), logged as a dsse entry in LOG-URL
//   dsse-v02  a DSSE envelope of DATA, not logged, as a v0.2 bundle (mediaType ...bundle+json;version=0.2)
// Prints one JSON line: {"ok": true, "bundle": ...} or {"ok": false, "error": "CODE: message", "cause": ...}.
const fs = require('fs');
const crypto = require('crypto');
const { DSSEBundleBuilder, MessageSignatureBundleBuilder, RekorWitness } = require('@sigstore/sign');
const { bundleToJSON } = require('@sigstore/bundle');

const [mode, dataPath, keyPath, publicKeyPath, rekorURL] = process.argv.slice(2);
const key = crypto.createPrivateKey(fs.readFileSync(keyPath, 'utf8'));
const publicKey = fs.readFileSync(publicKeyPath, 'utf8');
const der = crypto.createPublicKey(publicKey).export({ type: 'spki', format: 'der' });
// sigstore-go's key hint: base64(sha256(PKIX DER)).
const hint = crypto.createHash('sha256').update(der).digest('base64');
const signer = { sign: async (data) => ({ signature: crypto.sign('sha256', data, key),
                                          key: { $case: 'publicKey', publicKey, hint } }) };
const witness = (entryType) => new RekorWitness({ rekorBaseURL: rekorURL, entryType, fetchOnConflict: false,
                                                  retry: false });
const data = fs.readFileSync(dataPath);
const type = 'application/vnd.in-toto+json';
let made;
if (mode === 'message') {
  // The log's first entry is logIndex 0, which protojson leaves out of the bundle.
  made = new MessageSignatureBundleBuilder({ signer, witnesses: [witness('hashedrekord')] }).create({ data });
} else if (mode === 'dsse') {
  // sigstore-js proposes dsse 0.0.1 as Rekor's schema names it (proposedContent.verifiers).
  made = new DSSEBundleBuilder({ signer, witnesses: [witness('dsse')] }).create({ data, type });
} else if (mode === 'dsse-v02') {
  // certificateChain: true is how sigstore-js makes a v0.2 bundle.
  made = new DSSEBundleBuilder({ signer, witnesses: [], certificateChain: true }).create({ data, type });
} else {
  made = Promise.reject(new Error(`unknown mode ${mode}`));
}
made.then((bundle) => console.log(JSON.stringify({ ok: true, bundle: bundleToJSON(bundle) })))
  .catch((e) => { console.log(JSON.stringify({ ok: false, error: `${e.code || e.name}: ${e.message}`,
                                               cause: e.cause ? String(e.cause.message || e.cause) : null })); });

// Make a keyless Sigstore bundle with sigstore-js (@sigstore/sign): a Fulcio certificate for an identity token, a
// message signature over DATA, logged as a hashedrekord entry in LOG-URL. sigstore-js does not check the
// certificate's SCT when it signs (sigstore-python and supplychain do), which lets a test get a real bundle whose
// certificate has no SCT from the mock CA of tests/js/mock-services.js (its noSctUrl). Used by
// tests/integration/test_keyless_verify.py.
// usage: node sign-keyless.js DATA FULCIO-URL LOG-URL TOKEN
// Prints one JSON line: {"ok": true, "bundle": ...} or {"ok": false, "error": "CODE: message"}.
const fs = require('fs');
const { FulcioSigner, MessageSignatureBundleBuilder, RekorWitness } = require('@sigstore/sign');
const { bundleToJSON } = require('@sigstore/bundle');

const [dataPath, fulcioURL, rekorURL, token] = process.argv.slice(2);
const signer = new FulcioSigner({ fulcioBaseURL: fulcioURL, identityProvider: { getToken: async () => token },
                                  retry: false });
const witness = new RekorWitness({ rekorBaseURL: rekorURL, entryType: 'hashedrekord', fetchOnConflict: false,
                                   retry: false });
new MessageSignatureBundleBuilder({ signer, witnesses: [witness] })
  .create({ data: fs.readFileSync(dataPath) })
  .then((bundle) => console.log(JSON.stringify({ ok: true, bundle: bundleToJSON(bundle) })))
  .catch((err) => console.log(JSON.stringify({ ok: false, error: `${err.code || err.name}: ${err.message}` })));

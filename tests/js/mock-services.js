// Sigstore's signing services for offline tests, from @sigstore/mock (pinned in package.json): a Fulcio CA whose
// certificates carry an SCT from a mock CT log (RFC 6962 precertificate signature), and an RFC 3161 timestamp
// authority. @sigstore/mock is a library of request handlers (made for nock); this wraps them in a real HTTP
// server on 127.0.0.1 so that real clients (supplychain, sigstore-python, sigstore-js) talk to it over TCP.
// Started by tests/support/sigstore_services.py (the `sigstore_services` session fixture).
//
// usage: node mock-services.js [PORT [TSA-CLOCK-OFFSET]]   (PORT 0 or absent: a free port; TSA-CLOCK-OFFSET: seconds
//   added to now for the TSA's fixed clock (@sigstore/mock's `clock`), for timestamps outside a certificate's validity)
// Prints one JSON line once listening: {"url", "noSctUrl", "ca": PEM, "ctlog": {"publicKey": PEM, "logId": b64},
// "tsa": [PEM leaf-signing intermediate, PEM root]}, then serves until killed. `noSctUrl` is a second server (clients
// join the API path to the host, so it cannot be a path prefix) whose Fulcio is the same CA without a CT log: its
// certificates have no SCT.
//
// Routes:
//   POST /api/v2/signingCert          Fulcio v2 (JSON; publicKeyRequest or certificateSigningRequest)
//   POST /api/v1/timestamp            the TSA: sigstore-js's JSON request, or an RFC 3161 TimeStampReq
//                                     (application/timestamp-query, what sigstore-python sends)
//
// What Fulcio checks is NOT mocked here: @sigstore/mock decodes the OIDC token without checking its signature,
// issuer or audience (jose.decodeJwt) and takes the certificate's identity from its `sub` claim (a URI SAN) and
// the issuer extension from `iss`. The token checks a signer makes (audience `sigstore`, expiry, claims) are the
// client's (sigstore.oidc.IdentityToken); the JWKS of tests/support/oidc.py is there for clients that verify.
const http = require('http');
const crypto = require('crypto');
const asn1js = require('asn1js');
const { fulcioHandler, initializeCA, initializeCTLog, initializeTSA, tsaHandler } = require('@sigstore/mock');

const MAX_BODY = 1 << 20;
const PEM = (der, label) => `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').match(/.{1,64}/g)
  .join('\n')}\n-----END ${label}-----\n`;

// A DER TimeStampReq (RFC 3161 section 2.4.1) as the mock TSA's request object; the nonce is kept as its DER
// INTEGER bytes (a 64-bit nonce does not fit a JS number) and put back into the TSTInfo below.
function parseTimestampQuery(der) {
  const parsed = asn1js.fromBER(new Uint8Array(der).buffer);
  if (parsed.offset === -1) throw new Error('malformed TimeStampReq');
  const fields = parsed.result.valueBlock.value;
  const imprint = fields[1].valueBlock.value;
  const req = {
    artifactHash: Buffer.from(imprint[1].valueBlock.valueHexView),
    hashAlgorithmOID: imprint[0].valueBlock.value[0].valueBlock.toString(),
    nonce: 0,
    policyOID: '1.3.6.1.4.1.57264.2',
    certReq: false,
  };
  for (const field of fields.slice(2)) {
    if (field instanceof asn1js.ObjectIdentifier) req.policyOID = field.valueBlock.toString();
    else if (field instanceof asn1js.Integer) req.nonceHex = Buffer.from(field.valueBlock.valueHexView);
    else if (field instanceof asn1js.Boolean) req.certReq = field.valueBlock.value;
  }
  return req;
}

async function main() {
  const port = Number(process.argv[2] || 0);
  const ctlog = await initializeCTLog(crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }));
  const caKeys = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ca = await initializeCA(caKeys, ctlog);
  const rootCert = ca.rootCertificate;
  // A second CA, without a CT log, shares the root's key, name and certificate: the one root verifies what it
  // issues, and only the missing SCT tells its certificates apart.
  const noSct = await initializeCA(caKeys, undefined);
  noSct.root = ca.root;
  const tsaOffset = Number(process.argv[3] || 0);
  const tsaClock = tsaOffset ? new Date(Date.now() + tsaOffset * 1000) : undefined;
  const tsa = await initializeTSA(crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }), tsaClock);
  const tstInfo = tsa.tstInfo.bind(tsa);
  tsa.tstInfo = (req) => {
    const info = tstInfo({ ...req, nonce: 1 });
    info.nonce = req.nonceHex ? new asn1js.Integer({ valueHex: req.nonceHex }) : undefined;
    // Whole seconds: asn1js writes a GeneralizedTime's milliseconds without trailing zeros (".12Z"), which
    // @sigstore/core's parser (exactly three digits or none) refuses as "invalid time", one timestamp in ten.
    info.genTime = new Date(Math.floor(info.genTime.getTime() / 1000) * 1000);
    return info;
  };
  const timestampJson = tsaHandler(tsa).fn;
  const server = serve({ '/api/v2/signingCert': fulcioHandler(ca).fn }, tsa, timestampJson);
  const noSctServer = serve({ '/api/v2/signingCert': fulcioHandler(noSct).fn }, tsa, timestampJson);
  noSctServer.listen(0, '127.0.0.1', () => server.listen(port, '127.0.0.1', () => {
    const url = `http://127.0.0.1:${server.address().port}`;
    console.log(JSON.stringify({
      url,
      noSctUrl: `http://127.0.0.1:${noSctServer.address().port}`,
      ca: PEM(rootCert, 'CERTIFICATE'),
      ctlog: { publicKey: PEM(ctlog.publicKey, 'PUBLIC KEY'), logId: Buffer.from(ctlog.logID).toString('base64') },
      tsa: [PEM(tsa.intCertificate, 'CERTIFICATE'), PEM(tsa.rootCertificate, 'CERTIFICATE')],
    }));
  }));
}

function serve(routes, tsa, timestampJson) {
  return http.createServer((request, response) => {
    const chunks = [];
    let size = 0;
    request.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) request.destroy();
      else chunks.push(chunk);
    });
    request.on('end', async () => {
      const body = Buffer.concat(chunks);
      let answer;
      try {
        if (request.method !== 'POST') {
          answer = { statusCode: 405, response: 'method not allowed' };
        } else if (request.url === '/api/v1/timestamp') {
          if ((request.headers['content-type'] || '').startsWith('application/json')) {
            answer = await timestampJson(body.toString());
          } else {
            answer = { statusCode: 201, contentType: 'application/timestamp-reply',
                       response: await tsa.timestamp(parseTimestampQuery(body)) };
          }
        } else if (routes[request.url]) {
          answer = await routes[request.url](normalizeRequest(body, request.headers));
        } else {
          answer = { statusCode: 404, response: 'not found' };
        }
      } catch (e) {
        answer = { statusCode: 400, response: String(e && e.message) };
      }
      if (answer.statusCode >= 400) {  // Fulcio's (grpc-gateway) error shape, which clients show
        answer = { statusCode: answer.statusCode, contentType: 'application/json',
                   response: JSON.stringify({ code: answer.statusCode, message: String(answer.response) }) };
      }
      response.writeHead(answer.statusCode, { 'Content-Type': answer.contentType || 'text/plain' });
      response.end(typeof answer.response === 'string' ? answer.response : Buffer.from(answer.response.buffer,
        answer.response.byteOffset, answer.response.byteLength));
    });
  });
}

// Fulcio's v2 API takes the token as `credentials.oidcIdentityToken` or as a bearer token (what sigstore-python
// sends), and the CSR as base64 of its PEM (sigstore-python, cosign); @sigstore/mock reads only the first and the PEM.
function normalizeRequest(body, headers) {
  const json = JSON.parse(body.toString());
  const bearer = /^Bearer (.+)$/.exec(headers.authorization || '');
  if (bearer && !(json.credentials && json.credentials.oidcIdentityToken)) {
    json.credentials = { oidcIdentityToken: bearer[1] };
  }
  const csr = json.certificateSigningRequest;
  if (typeof csr === 'string' && !csr.startsWith('-----')) {
    json.certificateSigningRequest = Buffer.from(csr, 'base64').toString('utf8');
  }
  return JSON.stringify(json);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

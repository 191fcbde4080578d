// A real OAuth 2.0 / OpenID provider for camctl's integration tests, on
// 127.0.0.1 only. It checks client credentials and signs JWT access tokens
// with its own keys (published at /jwks). Configuration comes from the
// environment:
//   IDP_CLIENTS  JSON array of oidc-provider client metadata
//   IDP_TTL      access token lifetime in seconds (default 300)
//   IDP_AUDIENCE the aud claim of access tokens (default orchestration-api)
//   IDP_TLS_CERT, IDP_TLS_KEY, IDP_TLS_CA  PEM files; when all three are set
//                it serves HTTPS with this certificate and key, asks every
//                client for a certificate (verified against IDP_TLS_CA, but
//                the handshake never fails: the provider decides), and
//                accepts tls_client_auth (RFC 8705) clients registered with
//                tls_client_auth_subject_dn.
// It prints "listening <issuer>" on stdout once it accepts requests.
//
// GET /_stats answers {"token": N, "clients": {"<client_id>": N},
// "errors": ["<error>: <detail>", ...]}: the token requests so far (all,
// and per client, "" when none was named) and why failed ones failed
// (oidc-provider tells clients only "client authentication failed").
// It also has "fields": the form field names of each token request, in
// order (to show that no client_secret went with a client assertion), and
// "assertions": the decoded header and claims of each client assertion
// that reached client authentication. private_key_jwt clients are
// registered with a "jwks" of their public keys; their assertions must
// also have sub = iss, nbf, a kid, and exp at most 300 s after iat
// (spec §11).
import http from 'node:http';
import https from 'node:https';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Provider, { errors } from 'oidc-provider';

const clients = JSON.parse(process.env.IDP_CLIENTS || '[]');
const ttl = Number(process.env.IDP_TTL || 300);
const audience = process.env.IDP_AUDIENCE || 'orchestration-api';
const resource = 'urn:camunda:' + audience;

const tlsVars = ['IDP_TLS_CERT', 'IDP_TLS_KEY', 'IDP_TLS_CA'].filter((v) => process.env[v]);
if (tlsVars.length !== 0 && tlsVars.length !== 3) {
  console.error('set all of IDP_TLS_CERT, IDP_TLS_KEY and IDP_TLS_CA, or none');
  process.exit(2);
}
const tls = tlsVars.length === 3;

// RFC 4514 distinguished names, compared as lists of RDNs (most specific
// first), each a set of TYPE=value: attribute types ignore case, values
// are compared exactly after unescaping (\, \+ \\ \"  \XX ...), and
// unescaped white space around separators is insignificant, so
// "CN=a,O=b" matches "CN=a, O=b" but not "O=b,CN=a". Values in #hex form
// and attribute types given as OIDs are not interpreted.
const typeAliases = { E: 'EMAILADDRESS', EMAIL: 'EMAILADDRESS', S: 'ST' };

function parseDN(s, rdnSep) {
  const rdns = [];
  let avas = [];
  let cur = [];
  let type = null;
  const text = (chars) => {
    let a = 0;
    let b = chars.length;
    while (a < b && !chars[a].esc && /\s/.test(chars[a].c)) a++;
    while (b > a && !chars[b - 1].esc && /\s/.test(chars[b - 1].c)) b--;
    const bytes = [];
    for (const { c } of chars.slice(a, b)) {
      if (typeof c === 'number') bytes.push(c);
      else bytes.push(...Buffer.from(c));
    }
    return Buffer.from(bytes).toString('utf8');
  };
  const endAVA = () => {
    if (type === null) throw new Error(`no "=" in ${JSON.stringify(s)}`);
    const t = type.toUpperCase();
    avas.push(`${typeAliases[t] || t}=${text(cur)}`);
    type = null;
    cur = [];
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && i + 1 < s.length) {
      if (/^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
        cur.push({ c: parseInt(s.slice(i + 1, i + 3), 16), esc: true });
        i += 2;
      } else {
        cur.push({ c: s[i + 1], esc: true });
        i += 1;
      }
    } else if (c === '=' && type === null) {
      type = text(cur);
      cur = [];
    } else if (c === '+') {
      endAVA();
    } else if (rdnSep.includes(c)) {
      endAVA();
      rdns.push(avas.sort());
      avas = [];
    } else {
      cur.push({ c, esc: false });
    }
  }
  endAVA();
  rdns.push(avas.sort());
  return rdns;
}

// The certificate's subject as RFC 4514 RDNs. Node prints the subject in
// certificate order, one RDN a line, " + " between the values of a
// multi-valued RDN, escaped as in RFC 2253; RFC 4514 lists the most
// specific RDN first.
function certificateDN(cert) {
  return parseDN(cert.subject, '\n').reverse();
}

function subjectMatches(cert, expected) {
  try {
    return JSON.stringify(certificateDN(cert)) === JSON.stringify(parseDN(expected, ',;'));
  } catch {
    return false;
  }
}

function getCertificate(ctx) {
  const peer = ctx.socket.getPeerCertificate?.();
  if (!peer?.raw) return undefined;
  return new X509Certificate(peer.raw);
}

const mTLS = !tls ? { enabled: false } : {
  enabled: true,
  tlsClientAuth: true,
  getCertificate,
  // Verified against IDP_TLS_CA and within its validity period.
  certificateAuthorized: (ctx) => ctx.socket.authorized === true,
  certificateSubjectMatches(ctx, property, expected) {
    if (property !== 'tls_client_auth_subject_dn') return false;
    const cert = getCertificate(ctx);
    return cert !== undefined && subjectMatches(cert, expected);
  },
};

const stats = { token: 0, clients: {}, errors: [], fields: [], assertions: [] };

const b64json = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

let handler = (req, res) => { res.statusCode = 503; res.end(); };
const serve = (req, res) => {
  const path = req.url.split('?')[0];
  if (path === '/_stats') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(stats));
    return;
  }
  if (path === '/token') stats.token++;
  handler(req, res);
};
const server = tls
  ? https.createServer({
    cert: readFileSync(process.env.IDP_TLS_CERT),
    key: readFileSync(process.env.IDP_TLS_KEY),
    ca: readFileSync(process.env.IDP_TLS_CA),
    requestCert: true,
    rejectUnauthorized: false,
  }, serve)
  : http.createServer(serve);
server.listen(0, '127.0.0.1', () => {
  const issuer = `${tls ? 'https' : 'http'}://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients,
    clientAuthMethods: ['client_secret_post', 'client_secret_basic', 'private_key_jwt', ...(tls ? ['tls_client_auth'] : [])],
    async assertJwtClientAuthClaimsAndHeader(ctx, claims, header) {
      const fail = (msg) => { throw new errors.InvalidClientAuth(msg); };
      if (claims.sub !== claims.iss) fail('sub must equal iss (the client id)');
      if (typeof claims.nbf !== 'number') fail('nbf must be given');
      if (typeof claims.iat !== 'number') fail('iat must be given');
      if (claims.exp - claims.iat > 300) fail('exp must be at most 300 s after iat');
      if (!header.kid) fail('the header must name the key (kid)');
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      mTLS,
      resourceIndicators: {
        enabled: true,
        // Camunda clients send `audience`, which oidc-provider ignores;
        // every token gets the cluster's audience through this resource.
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'openid',
          audience,
          accessTokenFormat: 'jwt',
          accessTokenTTL: ttl,
        }),
      },
    },
  });
  provider.proxy = false;
  // Counted after the provider answered but before the answer is sent.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/token') {
      const body = ctx.oidc?.body ?? {};
      stats.fields.push(Object.keys(body));
      if (typeof body.client_assertion === 'string') {
        try {
          const [h, p] = body.client_assertion.split('.');
          stats.assertions.push({ header: b64json(h), claims: b64json(p) });
        } catch {
          stats.assertions.push({ header: null, claims: null });
        }
      }
      const id = ctx.oidc?.client?.clientId ?? ctx.oidc?.params?.client_id ?? '';
      stats.clients[id] = (stats.clients[id] || 0) + 1;
    }
  });
  const failed = (ctx, err) => {
    stats.errors.push(`${err.error || err.message}: ${err.error_detail || err.error_description || err.message}`);
  };
  provider.on('grant.error', failed);
  provider.on('server_error', failed);
  handler = provider.callback();
  console.log(`listening ${issuer}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

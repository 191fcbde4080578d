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
//   IDP_ISSUER   the issuer it names itself (default http://127.0.0.1:PORT):
//                for a test that reaches it through a proxy under another
//                name, e.g. https://keycloak.example.com/realms/x. The
//                proxy sends X-Forwarded-Proto and the Host of that name;
//                the issuer's path is stripped from requests before they
//                are routed.
//   IDP_USERS    JSON array of {"login","password","name","email"}: the
//                people who can sign in (browser and device flows) on its
//                own login form, then consent (Allow / Deny)
//   IDP_ROTATE   "0" turns refresh-token rotation off (default: every
//                refresh returns a new refresh token, and the old one is
//                spent; oidc-provider then revokes the grant if it is
//                used again)
//   IDP_DEVICE_INTERVAL  the device flow's polling interval in seconds
//                (default 1; oidc-provider itself sends none, so clients
//                would wait 5 s)
// Public clients (token_endpoint_auth_method "none") must use PKCE
// (oidc-provider requires it for them). Access tokens of a person carry
// preferred_username, name and email, the claims Camunda maps.
//
// GET /_stats answers {"token": N, "clients": {"<client_id>": N},
// "grants": {"<grant_type>": N}, "revoked": N,
// "errors": ["<error>: <detail>", ...]}: the token requests so far (all,
// per client, "" when none was named, and per grant type), revocation
// requests, and why failed ones failed (oidc-provider tells clients only
// "client authentication failed").
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

const stats = { token: 0, clients: {}, grants: {}, revoked: 0, errors: [], fields: [], assertions: [] };

const b64json = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

const users = JSON.parse(process.env.IDP_USERS || '[]');
const rotate = process.env.IDP_ROTATE !== '0';
const deviceInterval = Number(process.env.IDP_DEVICE_INTERVAL || 1);
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function findAccount(ctx, sub) {
  const u = users.find((x) => x.login === sub);
  if (!u) return undefined;
  return {
    accountId: u.login,
    async claims() {
      return { sub: u.login, preferred_username: u.login, name: u.name, email: u.email };
    },
  };
}

const formPage = (title, body) => `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head><body><h1>${esc(title)}</h1>${body}</body></html>`;

const readForm = (req) => new Promise((resolve, reject) => {
  let data = '';
  req.setEncoding('utf8');
  req.on('data', (c) => { data += c; if (data.length > 65536) req.destroy(); });
  req.on('end', () => resolve(new URLSearchParams(data)));
  req.on('error', reject);
});

// The sign-in pages: a login form that checks IDP_USERS, then consent.
async function interaction(provider, req, res) {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params } = details;
  const action = `${issuerPrefix}/interaction/${uid}`;
  if (req.method === 'GET') {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    if (prompt.name === 'login') {
      res.end(formPage('Sign in to the test IdP', `<form method="post" action="${action}">
<input type="hidden" name="prompt" value="login">
<label>Username <input id="username" name="login" autofocus></label>
<label>Password <input id="password" type="password" name="password"></label>
<button id="signin" type="submit">Sign in</button></form>`));
    } else {
      res.end(formPage('Authorize', `<p>${esc(params.client_id)} asks for: ${esc(params.scope)}</p>
<form method="post" action="${action}"><input type="hidden" name="prompt" value="consent">
<button id="allow" name="decision" value="allow" type="submit">Allow</button>
<button id="deny" name="decision" value="deny" type="submit">Deny</button></form>`));
    }
    return;
  }
  const form = await readForm(req);
  if (prompt.name === 'login') {
    const u = users.find((x) => x.login === form.get('login') && x.password === form.get('password'));
    if (!u) {
      res.statusCode = 401;
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(formPage('Wrong username or password', `<p><a href="${action}">Try again</a></p>`));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: u.login } }, { mergeWithLastSubmission: false });
    return;
  }
  if (form.get('decision') !== 'allow') {
    await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user denied the request' }, { mergeWithLastSubmission: false });
    return;
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  for (const [indicator, scope] of Object.entries(prompt.details.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scope.join(' '));
  }
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
}
let interactionHandler = null;

let handler = (req, res) => { res.statusCode = 503; res.end(); };
const issuerPrefix = process.env.IDP_ISSUER ? new URL(process.env.IDP_ISSUER).pathname.replace(/\/$/, '') : '';
const serve = (req, res) => {
  if (issuerPrefix && req.url.startsWith(issuerPrefix + '/')) req.url = req.url.slice(issuerPrefix.length);
  const path = req.url.split('?')[0];
  if (path === '/_stats') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(stats));
    return;
  }
  if (path === '/token') stats.token++;
  if (path === '/token/revocation') stats.revoked++;
  if (interactionHandler && path.startsWith('/interaction/')) {
    interactionHandler(req, res).catch((err) => {
      stats.errors.push(`interaction: ${err.message}`);
      res.statusCode = 400;
      res.end(formPage('Sign-in failed', `<p>${esc(err.message)}</p>`));
    });
    return;
  }
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
  const issuer = process.env.IDP_ISSUER || `${tls ? 'https' : 'http'}://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients,
    findAccount,
    interactions: { url: (ctx, i) => `${issuerPrefix}/interaction/${i.uid}` },
    // A person's client gets a refresh token without prompt=consent
    // (which oidc-provider wants for offline_access, Keycloak does not).
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => false,
    rotateRefreshToken: () => rotate,
    extraTokenClaims: async (ctx, token) => {
      if (!token.accountId) return undefined;
      const u = users.find((x) => x.login === token.accountId);
      return u ? { preferred_username: u.login, name: u.name, email: u.email } : undefined;
    },
    claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email'] },
    clientAuthMethods: ['none', 'client_secret_post', 'client_secret_basic', 'private_key_jwt', ...(tls ? ['tls_client_auth'] : [])],
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
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
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
  provider.proxy = Boolean(process.env.IDP_ISSUER);
  if (issuerPrefix) {
    // As if mounted under the issuer's path (koa-mount sets the same).
    provider.use(async (ctx, next) => { ctx.mountPath = issuerPrefix; await next(); });
  }
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
      const grant = ctx.oidc?.params?.grant_type ?? '';
      stats.grants[grant] = (stats.grants[grant] || 0) + 1;
    }
    if (ctx.path === '/device/auth' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
      ctx.body.interval = deviceInterval;
    }
  });
  const failed = (ctx, err) => {
    stats.errors.push(`${err.error || err.message}: ${err.error_detail || err.error_description || err.message}`);
  };
  provider.on('grant.error', failed);
  provider.on('server_error', failed);
  interactionHandler = (req, res) => interaction(provider, req, res);
  handler = provider.callback();
  console.log(`listening ${issuer} ${tls ? 'https' : 'http'}://127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

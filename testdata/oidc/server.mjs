// A real OAuth 2.0 / OpenID provider for camctl's integration tests, on
// 127.0.0.1 only. It checks client credentials and signs JWT access tokens
// with its own keys (published at /jwks). Configuration comes from the
// environment:
//   IDP_CLIENTS  JSON array of oidc-provider client metadata
//   IDP_TTL      access token lifetime in seconds (default 300)
//   IDP_AUDIENCE the aud claim of access tokens (default orchestration-api)
// It prints "listening <issuer>" on stdout once it accepts requests.
import http from 'node:http';
import Provider from 'oidc-provider';

const clients = JSON.parse(process.env.IDP_CLIENTS || '[]');
const ttl = Number(process.env.IDP_TTL || 300);
const audience = process.env.IDP_AUDIENCE || 'orchestration-api';
const resource = 'urn:camunda:' + audience;

let handler = (req, res) => { res.statusCode = 503; res.end(); };
const server = http.createServer((req, res) => handler(req, res));
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients,
    clientAuthMethods: ['client_secret_post', 'client_secret_basic'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
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
  handler = provider.callback();
  console.log(`listening ${issuer}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

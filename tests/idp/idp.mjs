// A real OpenID provider (panva/oidc-provider) for the tests, on a loopback port.
//
//   node idp.mjs --port P --redirect-uri URI [--post-logout-uri URI] [--backchannel-uri URI]
//                [--alg RS256|ES256] [--client-id ID] [--client-secret S]
//
// Prints "ready" once listening. Sign-in is non-interactive: every interaction signs in the
// account last set with POST /__test/login-as {"sub", "email", "email_verified", "name", "groups"}
// (`groups`, scope profile, reaches UserInfo: oidc-provider keeps ID tokens of the code flow lean).
// Key rotation keeps the provider instance (a rebuilt one loses its sessions):
//   POST /__test/rotate          new signing keys (new kids) sign from now on; the old ones stay
//                                published;
//   POST /__test/drop-old-keys   only the keys that sign stay published;
//   GET  /__test/jwks-count      {"count": N}: requests served at the JWKS endpoint so far.
// GET /__test/last-logout-token gives {"logout_token"} of the last back-channel logout sent.
// Stops when stdin closes or on SIGTERM.
import { createServer } from 'node:http';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import Provider from 'oidc-provider';
// The provider's internals, to change its keys in place (the package has no "exports" map).
import initializeKeystore from 'oidc-provider/lib/helpers/initialize_keystore.js';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, cur, i, all) => (cur.startsWith('--') ? [...acc, [cur.slice(2), all[i + 1]]] : acc), []),
);
const port = Number(args.port);
const issuer = `http://127.0.0.1:${port}`;
const alg = args.alg || 'RS256';

let lastLogoutToken = null;
let account = { sub: 'alice', email: 'alice@example.com', email_verified: true, name: 'Alice Example' };
const accounts = new Map();

function keys() {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  return [
    { ...rsa, kid: `rsa-${randomUUID()}`, use: 'sig', alg: 'RS256' },
    { ...ec, kid: `ec-${randomUUID()}`, use: 'sig', alg: 'ES256' },
  ];
}

function configuration(jwks) {
  const client = {
    client_id: args['client-id'] || 'test-client',
    client_secret: args['client-secret'] || 'test-client-secret-0123456789',
    redirect_uris: [args['redirect-uri']],
    post_logout_redirect_uris: args['post-logout-uri'] ? [args['post-logout-uri']] : [],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: alg,
  };
  if (args['backchannel-uri']) {
    client.backchannel_logout_uri = args['backchannel-uri'];
    client.backchannel_logout_session_required = true;
  }
  return {
    clients: [client],
    jwks: { keys: jwks },
    findAccount: async (_ctx, sub) => {
      const a = accounts.get(sub);
      if (!a) return undefined;
      // email_verified null: the claim is left out (as Entra ID does).
      const claims = { sub, email: a.email, name: a.name };
      if (Array.isArray(a.groups)) claims.groups = a.groups;
      if (a.email_verified !== null && a.email_verified !== undefined) claims.email_verified = a.email_verified;
      return { accountId: sub, claims: async () => claims };
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true },
      backchannelLogout: { enabled: true },
    },
    pkce: { required: () => true },
    // oidc-provider refuses outgoing requests to special-use addresses (SSRF protection); this
    // IdP lives on loopback with its relying party, so its back-channel calls go to 127.0.0.1.
    fetch: (url, options) => {
      const { dispatcher: _ssrfGuard, ...rest } = options;
      if (rest.body) {
        const token = new URLSearchParams(String(rest.body)).get('logout_token');
        if (token) lastLogoutToken = token;
      }
      return globalThis.fetch(url, rest);
    },
    cookies: {
      names: { session: 'idp_session', interaction: 'idp_interaction', resume: 'idp_resume' },
      keys: ['test-idp-cookie-key-not-a-secret'],
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // No consent screen: the test client is first-party.
    loadExistingGrant: async (ctx) => {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid profile email');
      await grant.save();
      return grant;
    },
  };
}

// The keys that sign (first) and the older ones still published.
let signing = keys();
let older = [];

function make() {
  const p = new Provider(issuer, configuration(signing));
  p.on('backchannel.error', (_ctx, err) => console.error(`backchannel.error: ${err.message}`));
  p.on('server_error', (_ctx, err) => console.error(`server_error: ${err.message}`));
  return p;
}

const provider = make();
let jwksCount = 0;

// The keystore signs with the first matching key and publishes all of them.
function publish() {
  initializeKeystore.call(provider, { keys: [...signing, ...older] });
}

function json(req) {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { try { resolve(JSON.parse(body || '{}')); } catch { resolve({}); } });
  });
}

const server = createServer(async (req, res) => {
  try {
    if (req.method === 'POST' && req.url === '/__test/login-as') {
      account = { ...account, groups: undefined, ...(await json(req)) };
      res.writeHead(204).end();
      return;
    }
    if (req.method === 'POST' && req.url === '/__test/rotate') {
      older = [...signing, ...older];
      signing = keys();
      publish();
      res.writeHead(204).end();
      return;
    }
    if (req.method === 'POST' && req.url === '/__test/drop-old-keys') {
      older = [];
      publish();
      res.writeHead(204).end();
      return;
    }
    if (req.method === 'GET' && req.url === '/__test/jwks-count') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ count: jwksCount }));
      return;
    }
    if (req.method === 'GET' && req.url === '/__test/last-logout-token') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ logout_token: lastLogoutToken }));
      return;
    }
    if (req.url.split('?')[0] === '/jwks') jwksCount += 1;
    if (req.method === 'GET' && req.url.startsWith('/interaction/')) {
      const details = await provider.interactionDetails(req, res);
      accounts.set(account.sub, account);
      const result = details.prompt.name === 'login' ? { login: { accountId: account.sub } } : {};
      await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
      return;
    }
    provider.callback()(req, res);
  } catch (err) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err && err.message));
  }
});

server.listen(port, '127.0.0.1', () => console.log('ready'));
const stop = () => server.close(() => process.exit(0));
process.stdin.on('end', stop);
process.stdin.resume();
process.on('SIGTERM', stop);

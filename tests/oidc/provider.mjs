// A real OpenID Connect provider on loopback for Reelbox's login tests (tests/fixtures/oidc.py).
//
//   node tests/oidc/provider.mjs PORT
//
// Environment: OIDC_PORT (when no argument), OIDC_REDIRECT_URIS (space separated, required),
// OIDC_CLIENT_ID, OIDC_CLIENT_SECRET. Prints "ready ISSUER" on stdout once it listens.
//
// One confidential client (client_secret_basic, PKCE S256 required), two accounts: "alice"
// (email verified) and "bob" (email not verified). Logins go through the provider's own
// development interactions: GET /interaction/:uid renders a form, POST prompt=login&login=ID
// signs in (any password), POST prompt=consent grants, exactly the redirects a browser follows.
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.argv[2] ?? process.env.OIDC_PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node provider.mjs PORT (or OIDC_PORT)');
  process.exit(2);
}
const redirectUris = (process.env.OIDC_REDIRECT_URIS ?? '').split(/\s+/).filter(Boolean);
if (redirectUris.length === 0) {
  console.error('OIDC_REDIRECT_URIS is required');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

const ACCOUNTS = {
  alice: { email: 'alice@example.test', email_verified: true, name: 'Alice Liddell' },
  bob: { email: 'bob@example.test', email_verified: false, name: 'Bob Unverified' },
};

// A fresh signing key per run: the tests read its kid from the JWKS.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }),
  kid: 'reelbox-test-key',
  alg: 'RS256',
  use: 'sig',
};

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.OIDC_CLIENT_ID ?? 'reelbox',
      client_secret: process.env.OIDC_CLIENT_SECRET ?? 'reelbox-test-secret',
      redirect_uris: redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: ['reelbox-test-cookie-key'] },
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    const account = ACCOUNTS[id];
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...account }) };
  },
});

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}

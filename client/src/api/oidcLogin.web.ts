/**
 * Web OIDC login: a full-page redirect to the server's start URL; the server sends the browser
 * back to /login with the tokens (or an error) in the URL fragment, which never reaches a
 * server log. `takeOidcRedirect` reads the fragment once and removes it from the address bar.
 */
import type { ApiClient } from './client';
import { oidcResult, type OidcResult } from './query';
import type { OidcProvider } from './types';

export async function startOidcLogin(client: ApiClient, provider: OidcProvider): Promise<OidcResult> {
  const here = window.location.origin;
  // Served by the server itself: a path is always allowed. From elsewhere (a dev server) the
  // server must list this origin in its allowed redirects.
  const redirect = client.server === here ? '/login' : `${here}/login`;
  window.location.assign(client.oidcStartUrl(provider, redirect));
  return new Promise<OidcResult>(() => undefined); // the page goes away
}

export function takeOidcRedirect(): OidcResult {
  if (typeof window === 'undefined' || !window.location.hash) return { kind: 'none' };
  const result = oidcResult(window.location.hash);
  if (result.kind !== 'none') {
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
  }
  return result;
}

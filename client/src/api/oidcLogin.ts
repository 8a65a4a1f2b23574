/**
 * Native OIDC login: the server runs the whole OpenID Connect flow; the app opens its start URL
 * in the system's auth browser session (ASWebAuthenticationSession / Custom Tabs) with
 * `redirect=reelbox://auth`, and reads the tokens from the fragment of the URL it comes back
 * to. The server must allow that redirect (`allowed_redirects` containing "reelbox://auth").
 */
import * as Linking from 'expo-linking';
import * as WebBrowser from 'expo-web-browser';

import type { ApiClient } from './client';
import { oidcResult, type OidcResult } from './query';
import type { OidcProvider } from './types';

export async function startOidcLogin(client: ApiClient, provider: OidcProvider): Promise<OidcResult> {
  const redirect = Linking.createURL('auth', { scheme: 'reelbox' });
  const result = await WebBrowser.openAuthSessionAsync(client.oidcStartUrl(provider, redirect), redirect);
  if (result.type !== 'success') return { kind: 'none' };
  const hash = result.url.indexOf('#');
  return hash < 0 ? { kind: 'none' } : oidcResult(result.url.slice(hash));
}

/** Native logins come back through `startOidcLogin`, never in the page's URL. */
export function takeOidcRedirect(): OidcResult {
  return { kind: 'none' };
}

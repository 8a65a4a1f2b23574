/** Query strings the way the server's pydantic models read them. */

export type QueryValue = string | number | boolean | readonly (string | number)[] | null | undefined;

/** `{a: 1, t: ['movie', 'episode'], x: undefined}` -> "a=1&t=movie&t=episode" (repeated keys). */
export function queryString(params: Record<string, QueryValue>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    const values = Array.isArray(value) ? value : [value];
    for (const v of values as readonly (string | number | boolean)[]) {
      parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(v))}`);
    }
  }
  return parts.join('&');
}

/** Parse "#a=1&b=two" (or "a=1&b=two") into a record; later keys win. */
export function parseFragment(fragment: string): Record<string, string> {
  const text = fragment.startsWith('#') ? fragment.slice(1) : fragment;
  const out: Record<string, string> = {};
  for (const part of text.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const key = decodeURIComponent((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, ' '));
    const value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '));
    out[key] = value;
  }
  return out;
}

export type OidcResult =
  | {
      kind: 'tokens';
      access_token: string;
      refresh_token: string;
      expires_at: string | null;
      session_id: string | null;
    }
  | { kind: 'error'; code: string; description: string }
  | { kind: 'none' };

/** What an OIDC login's redirect brought back in the URL fragment (web/auth/oidc_routes.py). */
export function oidcResult(fragment: string): OidcResult {
  const f = parseFragment(fragment);
  if (f.error) return { kind: 'error', code: f.error, description: f.error_description ?? '' };
  if (f.access_token && f.refresh_token) {
    return {
      kind: 'tokens',
      access_token: f.access_token,
      refresh_token: f.refresh_token,
      expires_at: f.expires_at || null,
      session_id: f.session_id || null,
    };
  }
  return { kind: 'none' };
}

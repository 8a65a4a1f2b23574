import { oidcResult, parseFragment, queryString } from '../api/query';

describe('queryString', () => {
  it('skips empty values and repeats list keys', () => {
    expect(queryString({ a: 1, b: undefined, c: null, d: '', t: ['movie', 'episode'], u: true })).toBe(
      'a=1&t=movie&t=episode&u=true',
    );
  });
  it('encodes', () => {
    expect(queryString({ q: 'a&b c' })).toBe('q=a%26b%20c');
  });
});

describe('OIDC fragment', () => {
  it('reads the tokens the server puts in the fragment (Python urlencode: + for spaces)', () => {
    const fragment =
      '#token_type=Bearer&access_token=eyJ.a.b&expires_at=2026-11-24T12%3A15%3A00%2B00%3A00&refresh_token=r%2B1&refresh_expires_at=x&session_id=s9';
    expect(parseFragment(fragment).expires_at).toBe('2026-11-24T12:15:00+00:00');
    expect(oidcResult(fragment)).toEqual({
      kind: 'tokens',
      access_token: 'eyJ.a.b',
      refresh_token: 'r+1',
      expires_at: '2026-11-24T12:15:00+00:00',
      session_id: 's9',
    });
  });
  it('reads an error', () => {
    expect(oidcResult('#error=oidc_login_denied&error_description=access+denied')).toEqual({
      kind: 'error',
      code: 'oidc_login_denied',
      description: 'access denied',
    });
  });
  it('ignores an unrelated fragment', () => {
    expect(oidcResult('#top')).toEqual({ kind: 'none' });
    expect(oidcResult('')).toEqual({ kind: 'none' });
  });
});

import { ApiClient, ApiError, MemoryStore, normalizeServer, type StoredSession } from '../api/client';

type Call = { url: string; method: string; headers: Record<string, string>; body: unknown };

function json(status: number, body: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });
}

function tokens(access: string, refresh: string, expiresAt: string | null = null) {
  return {
    token_type: 'Bearer',
    access_token: access,
    expires_at: expiresAt,
    refresh_token: refresh,
    refresh_expires_at: null,
    session_id: 's1',
    user: { id: 1, username: 'ann', roles: ['member'], max_parental_rating: null, library_ids: null, display_name: null },
  };
}

/** A fake server: `handler` answers each call; every call is recorded. */
function fakeFetch(handler: (call: Call) => Response | Promise<Response>) {
  const calls: Call[] = [];
  const fetchImpl = async (url: string, init?: RequestInit) => {
    const call: Call = {
      url,
      method: init?.method ?? 'GET',
      headers: (init?.headers ?? {}) as Record<string, string>,
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
    };
    calls.push(call);
    return handler(call);
  };
  return { calls, fetchImpl };
}

const session: StoredSession = {
  server: 'http://media.local:8420',
  accessToken: 'old-access',
  refreshToken: 'refresh-1',
  expiresAt: null,
};

async function loggedIn(handler: (call: Call) => Response | Promise<Response>, onSessionEnded?: () => void) {
  const store = new MemoryStore({ ...session });
  const { calls, fetchImpl } = fakeFetch(handler);
  const client = new ApiClient({ server: 'http://ignored', store, fetch: fetchImpl, onSessionEnded });
  await client.restore();
  return { client, calls, store };
}

describe('normalizeServer', () => {
  it.each([
    ['media.local:8420', 'http://media.local:8420'],
    ['https://media.example/', 'https://media.example'],
    ['  http://10.0.0.2:8420//  ', 'http://10.0.0.2:8420'],
  ])('%s -> %s', (input, output) => {
    expect(normalizeServer(input)).toBe(output);
  });
});

describe('ApiClient', () => {
  it('logs in, keeps the tokens in the store and sends the bearer token', async () => {
    const store = new MemoryStore();
    const { calls, fetchImpl } = fakeFetch((call) =>
      call.url.endsWith('/api/auth/login') ? json(200, tokens('a1', 'r1')) : json(200, { id: 1, username: 'ann' }),
    );
    const client = new ApiClient({ server: 'media.local:8420', store, fetch: fetchImpl, device: 'test' });
    await client.login('ann', 'secret');
    expect(calls[0]).toMatchObject({
      url: 'http://media.local:8420/api/auth/login',
      method: 'POST',
      body: { username: 'ann', password: 'secret', device: 'test' },
    });
    expect(calls[0]?.headers.Authorization).toBeUndefined();
    expect(await store.load()).toMatchObject({ server: 'http://media.local:8420', accessToken: 'a1', refreshToken: 'r1', userId: 1 });
    await client.me();
    expect(calls[1]?.headers.Authorization).toBe('Bearer a1');
  });

  it('refreshes on 401 and sends the request again with the new token', async () => {
    const { client, calls, store } = await loggedIn((call) => {
      if (call.url.endsWith('/api/auth/refresh')) return json(200, tokens('new-access', 'refresh-2'));
      return call.headers.Authorization === 'Bearer new-access'
        ? json(200, { continue_watching: [], next_up: [], recently_added: [] })
        : json(401, { error: { code: 'token_expired', message: 'expired' } });
    });
    const home = await client.home();
    expect(home.recently_added).toEqual([]);
    expect(calls.map((c) => `${c.method} ${new URL(c.url).pathname}`)).toEqual([
      'GET /api/home',
      'POST /api/auth/refresh',
      'GET /api/home',
    ]);
    expect(calls[1]?.body).toEqual({ refresh_token: 'refresh-1' });
    expect(calls[1]?.headers.Authorization).toBeUndefined();
    expect(await store.load()).toMatchObject({ accessToken: 'new-access', refreshToken: 'refresh-2' });
  });

  it('shares one refresh between concurrent 401s (a refresh token works once)', async () => {
    let refreshes = 0;
    const { client, calls } = await loggedIn(async (call) => {
      if (call.url.endsWith('/api/auth/refresh')) {
        refreshes += 1;
        await new Promise((r) => setTimeout(r, 5));
        return json(200, tokens('new-access', 'refresh-2'));
      }
      return call.headers.Authorization === 'Bearer new-access'
        ? json(200, { id: 7 })
        : json(401, { error: { code: 'token_expired', message: 'expired' } });
    });
    const answers = await Promise.all([client.item(7), client.item(7), client.item(7)]);
    expect(refreshes).toBe(1);
    expect(answers).toHaveLength(3);
    expect(calls.filter((c) => c.url.endsWith('/api/items/7'))).toHaveLength(6);
  });

  it('ends the session when the refresh is refused', async () => {
    const ended = jest.fn();
    const { client, store } = await loggedIn(
      (call) =>
        call.url.endsWith('/api/auth/refresh')
          ? json(401, { error: { code: 'invalid_token', message: 'used' } })
          : json(401, { error: { code: 'token_expired', message: 'expired' } }),
      ended,
    );
    await expect(client.me()).rejects.toMatchObject({ status: 401, code: 'token_expired' });
    expect(ended).toHaveBeenCalledTimes(1);
    expect(client.loggedIn).toBe(false);
    expect(await store.load()).toBeNull();
  });

  it('keeps the session when the refresh fails for lack of network', async () => {
    const ended = jest.fn();
    const { client } = await loggedIn((call) => {
      if (call.url.endsWith('/api/auth/refresh')) throw new TypeError('Failed to fetch');
      return json(401, { error: { code: 'token_expired', message: 'expired' } });
    }, ended);
    await expect(client.me()).rejects.toBeInstanceOf(ApiError);
    expect(ended).not.toHaveBeenCalled();
    expect(client.loggedIn).toBe(true);
  });

  it('refreshes before a request when the access token is about to expire', async () => {
    const now = Date.parse('2026-11-24T12:00:00Z');
    const store = new MemoryStore({ ...session, expiresAt: '2026-11-24T12:00:10Z' });
    const { calls, fetchImpl } = fakeFetch((call) =>
      call.url.endsWith('/api/auth/refresh')
        ? json(200, tokens('new-access', 'refresh-2', '2026-11-24T12:15:00Z'))
        : json(200, { id: 1 }),
    );
    const client = new ApiClient({ server: 'x', store, fetch: fetchImpl, now: () => now });
    await client.restore();
    await client.me();
    expect(calls.map((c) => new URL(c.url).pathname)).toEqual(['/api/auth/refresh', '/api/users/me']);
    expect(calls[1]?.headers.Authorization).toBe('Bearer new-access');
  });

  it('does not refresh for a 401 of the login itself', async () => {
    const { calls, fetchImpl } = fakeFetch(() =>
      json(401, { error: { code: 'invalid_credentials', message: 'wrong username or password' } }),
    );
    const client = new ApiClient({ server: 'x', fetch: fetchImpl });
    await expect(client.login('ann', 'nope')).rejects.toMatchObject({
      status: 401,
      code: 'invalid_credentials',
      message: 'wrong username or password',
    });
    expect(calls).toHaveLength(1);
  });

  it('turns a non-JSON error into an ApiError with the status', async () => {
    const { client } = await loggedIn(() => new Response('bad gateway', { status: 502, statusText: 'Bad Gateway' }));
    await expect(client.home()).rejects.toMatchObject({ status: 502, code: 'http_502' });
  });

  it('writes list filters as repeated query parameters', async () => {
    const { client, calls } = await loggedIn(() => json(200, { items: [], next_cursor: null, total: null }));
    await client.items({ type: ['movie', 'episode'], genre: [3], unwatched: true, sort: 'added', order: 'desc', search: 'star wars' });
    const url = new URL(calls[0]?.url ?? '');
    expect(url.pathname).toBe('/api/items');
    expect(url.searchParams.getAll('type')).toEqual(['movie', 'episode']);
    expect(url.searchParams.get('genre')).toBe('3');
    expect(url.searchParams.get('unwatched')).toBe('true');
    expect(url.searchParams.get('search')).toBe('star wars');
  });

  it('starts playback, reports progress and stops', async () => {
    const { client, calls } = await loggedIn((call) =>
      call.method === 'POST' && call.url.endsWith('/api/playback')
        ? json(201, {
            session_id: 'p1',
            stream_token: 'st',
            method: 'direct_stream',
            video: 'copy',
            audio: 'copy',
            reasons: [],
            renditions: ['v0', 'a0'],
            master_url: '/stream/p1/master.m3u8?token=st',
            dash_url: '/stream/p1/manifest.mpd?token=st',
            direct_url: null,
          })
        : new Response(null, { status: 204 }),
    );
    const started = await client.startPlayback({ item_id: 5, profile: 'chromium' });
    expect(client.url(started.master_url)).toBe('http://media.local:8420/stream/p1/master.m3u8?token=st');
    await client.reportProgress('p1', 12_345_678.4, true);
    await client.stopPlayback('p1');
    expect(calls.map((c) => `${c.method} ${new URL(c.url).pathname}`)).toEqual([
      'POST /api/playback',
      'POST /api/playback/p1/progress',
      'DELETE /api/playback/p1',
    ]);
    expect(calls[1]?.body).toEqual({ position_us: 12_345_678, paused: true });
  });

  it('logs out with the refresh token and forgets the session', async () => {
    const ended = jest.fn();
    const { client, calls, store } = await loggedIn(() => new Response(null, { status: 204 }), ended);
    await client.logout();
    expect(calls[0]).toMatchObject({ method: 'POST', body: { refresh_token: 'refresh-1' } });
    expect(await store.load()).toBeNull();
    expect(ended).toHaveBeenCalled();
  });

  it('builds resized image URLs and OIDC start URLs on the server', async () => {
    const { client } = await loggedIn(() => json(200, {}));
    expect(client.imageUrl('/api/items/3/images/poster', 300.4)).toBe(
      'http://media.local:8420/api/items/3/images/poster?width=300',
    );
    expect(
      client.oidcStartUrl({ name: 'g', display_name: 'Google', start: '/api/auth/oidc/g/start' }, 'http://media.local:8420/login'),
    ).toBe('http://media.local:8420/api/auth/oidc/g/start?redirect=http%3A%2F%2Fmedia.local%3A8420%2Flogin');
  });
});

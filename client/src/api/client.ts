/**
 * The one API client: the server's base URL, the login session (tokens kept in a
 * `SessionStore`), typed calls, and the refresh of an expired access token.
 *
 * Refresh: a request answered 401 while a refresh token is held refreshes once and is sent
 * again; concurrent 401s share one refresh (the server uses a refresh token up, so two refreshes
 * with the same token would end the session). An access token known to expire within
 * `REFRESH_MARGIN_MS` is refreshed before the request. When a refresh is refused, the session is
 * cleared and `onSessionEnded` is called: the app goes back to the login screen.
 *
 * Errors: every non-2xx answer raises `ApiError` with the server's `{error: {code, message}}`;
 * a network failure raises `ApiError` with status 0 and code `network`.
 */
import type {
  AlbumDetail,
  DownloadOptions,
  GenreList,
  Home,
  ItemDetail,
  ItemList,
  ItemPage,
  ItemsQuery,
  LibraryList,
  Me,
  OidcProvider,
  PlaybackRequest,
  PlaybackSession,
  SeasonDetail,
  SeriesDetail,
  TokenResponse,
  UserState,
  YearList,
} from './types';
import { queryString, type QueryValue } from './query';

export const REFRESH_MARGIN_MS = 30_000;

export interface StoredSession {
  /** The server's origin, e.g. "http://192.168.1.5:8420", without a trailing slash. */
  server: string;
  accessToken: string;
  refreshToken: string;
  /** When the access token expires (ISO 8601), if the server said. */
  expiresAt: string | null;
  userId?: number;
  username?: string;
}

/** Where the session is kept: localStorage on web, the keychain/keystore on native. */
export interface SessionStore {
  load(): Promise<StoredSession | null>;
  save(session: StoredSession | null): Promise<void>;
}

export class MemoryStore implements SessionStore {
  constructor(private session: StoredSession | null = null) {}
  async load(): Promise<StoredSession | null> {
    return this.session;
  }
  async save(session: StoredSession | null): Promise<void> {
    this.session = session;
  }
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface ClientOptions {
  server: string;
  store?: SessionStore;
  fetch?: FetchLike;
  /** Called when a refresh is refused or the user logs out. */
  onSessionEnded?: () => void;
  /** Milliseconds since the epoch (tests pass a fake clock). */
  now?: () => number;
  /** Sent as the session's device name at login. */
  device?: string;
}

interface RequestOptions {
  query?: Record<string, QueryValue>;
  body?: unknown;
  /** false: send no credentials and never refresh (login, refresh, public routes). */
  auth?: boolean;
  signal?: AbortSignal;
  /** true: the browser keeps the request going while the page unloads. */
  keepalive?: boolean;
  /** Sent as well (a Range). */
  headers?: Record<string, string>;
}

/** "host:port" or "http://host:port/" -> "http://host:port". */
export function normalizeServer(address: string): string {
  let value = address.trim();
  if (!value) return value;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) value = `http://${value}`;
  return value.replace(/\/+$/, '');
}

export class ApiClient {
  server: string;
  private session: StoredSession | null = null;
  private refreshing: Promise<boolean> | null = null;
  private readonly store: SessionStore;
  private readonly fetchImpl: FetchLike;
  private readonly now: () => number;
  private readonly device: string | undefined;
  onSessionEnded: (() => void) | undefined;

  constructor(options: ClientOptions) {
    this.server = normalizeServer(options.server);
    this.store = options.store ?? new MemoryStore();
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.onSessionEnded = options.onSessionEnded;
    this.now = options.now ?? Date.now;
    this.device = options.device;
  }

  /** Load a saved session (and its server); true when one was found. */
  async restore(): Promise<boolean> {
    const saved = await this.store.load();
    if (!saved) return false;
    this.session = saved;
    this.server = saved.server;
    return true;
  }

  get loggedIn(): boolean {
    return this.session !== null;
  }

  get accessToken(): string | null {
    return this.session?.accessToken ?? null;
  }

  get currentSession(): StoredSession | null {
    return this.session;
  }

  /** An absolute URL on the server for `path` (already absolute URLs pass through). */
  url(path: string, query?: Record<string, QueryValue>): string {
    const base = /^[a-z][a-z0-9+.-]*:/i.test(path) ? path : `${this.server}${path}`;
    const qs = query ? queryString(query) : '';
    if (!qs) return base;
    return `${base}${base.includes('?') ? '&' : '?'}${qs}`;
  }

  /** Headers that authenticate a request outside this client (images on native). */
  authHeaders(): Record<string, string> {
    return this.session ? { Authorization: `Bearer ${this.session.accessToken}` } : {};
  }

  // --- the session ------------------------------------------------------------------------------

  async login(username: string, password: string): Promise<TokenResponse> {
    const tokens = await this.request<TokenResponse>('POST', '/api/auth/login', {
      auth: false,
      body: { username, password, ...(this.device ? { device: this.device } : {}) },
    });
    await this.adopt(tokens);
    return tokens;
  }

  /** Take tokens from elsewhere (an OIDC redirect's fragment). */
  async adopt(tokens: Pick<TokenResponse, 'access_token' | 'refresh_token'> & {
    expires_at?: string | null;
    user?: { id: number; username: string };
  }): Promise<void> {
    this.session = {
      server: this.server,
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
      expiresAt: tokens.expires_at ?? null,
      ...(tokens.user ? { userId: tokens.user.id, username: tokens.user.username } : {}),
    };
    await this.store.save(this.session);
  }

  async logout(): Promise<void> {
    const session = this.session;
    if (session) {
      try {
        await this.request('POST', '/api/auth/logout', {
          auth: false,
          body: { refresh_token: session.refreshToken },
        });
      } catch {
        // The session is forgotten here whatever the server says.
      }
    }
    await this.endSession();
  }

  private async endSession(): Promise<void> {
    const had = this.session !== null;
    this.session = null;
    await this.store.save(null);
    if (had) this.onSessionEnded?.();
  }

  /** Exchange the refresh token for new tokens, once however many callers ask at the same time. */
  refresh(): Promise<boolean> {
    if (!this.refreshing) {
      this.refreshing = this.doRefresh().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async doRefresh(): Promise<boolean> {
    const session = this.session;
    if (!session) return false;
    let tokens: TokenResponse;
    try {
      tokens = await this.request<TokenResponse>('POST', '/api/auth/refresh', {
        auth: false,
        body: { refresh_token: session.refreshToken },
      });
    } catch (error) {
      // Refused (the refresh token expired, was used or revoked): log in again. A network error
      // keeps the session, so a flaky connection does not log anyone out.
      if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
        await this.endSession();
      }
      return false;
    }
    if (this.session !== session) return this.session !== null; // logged out meanwhile
    await this.adopt(tokens);
    return true;
  }

  private expiresSoon(): boolean {
    const at = this.session?.expiresAt;
    if (!at) return false;
    const t = Date.parse(at);
    return Number.isFinite(t) && t - this.now() < REFRESH_MARGIN_MS;
  }

  // --- requests ---------------------------------------------------------------------------------

  async request<T = void>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const auth = options.auth ?? true;
    if (auth && this.session && this.expiresSoon()) await this.refresh();
    const sentWith = this.session?.accessToken;
    let response = await this.send(method, path, options, auth);
    if (response.status === 401 && auth && this.session) {
      // Another caller may have refreshed while this request was in flight: then just resend.
      const fresh = this.session.accessToken !== sentWith || (await this.refresh());
      if (fresh && this.session) response = await this.send(method, path, options, auth);
    }
    return this.decode<T>(response);
  }

  /**
   * The raw response of an authenticated GET (images as blobs on web, downloads), refreshed
   * like any. `accept`: statuses returned as they are instead of raising (a download reads 429).
   */
  async fetchRaw(
    path: string,
    signal?: AbortSignal,
    headers?: Record<string, string>,
    accept: readonly number[] = [],
  ): Promise<Response> {
    if (this.session && this.expiresSoon()) await this.refresh();
    const init: RequestOptions = { ...(signal ? { signal } : {}), ...(headers ? { headers } : {}) };
    const sentWith = this.session?.accessToken;
    let response = await this.send('GET', path, init, true);
    if (response.status === 401 && this.session) {
      const fresh = this.session.accessToken !== sentWith || (await this.refresh());
      if (fresh && this.session) response = await this.send('GET', path, init, true);
    }
    if (!response.ok && !accept.includes(response.status)) await this.decode(response);
    return response;
  }

  private async send(
    method: string,
    path: string,
    options: RequestOptions,
    auth: boolean,
  ): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    if (auth && this.session) headers.Authorization = `Bearer ${this.session.accessToken}`;
    const init: RequestInit = { method, headers };
    if (options.body !== undefined) init.body = JSON.stringify(options.body);
    if (options.signal) init.signal = options.signal;
    if (options.keepalive) init.keepalive = true;
    try {
      return await this.fetchImpl(this.url(path, options.query), init);
    } catch (error) {
      if (error instanceof Error && error.name === 'AbortError') throw error;
      throw new ApiError(0, 'network', `cannot reach ${this.server}: ${String(error)}`);
    }
  }

  private async decode<T>(response: Response): Promise<T> {
    if (response.ok) {
      if (response.status === 204) return undefined as T;
      const text = await response.text();
      return (text ? JSON.parse(text) : undefined) as T;
    }
    let code = `http_${response.status}`;
    let message = response.statusText || `HTTP ${response.status}`;
    let details: Record<string, unknown> | null = null;
    try {
      const body = (await response.json()) as {
        error?: { code?: string; message?: string; details?: Record<string, unknown> | null };
      };
      if (body.error) {
        code = body.error.code ?? code;
        message = body.error.message ?? message;
        details = body.error.details ?? null;
      }
    } catch {
      // Not JSON: keep the status text.
    }
    throw new ApiError(response.status, code, message, details);
  }

  // --- typed calls ------------------------------------------------------------------------------

  me(): Promise<Me> {
    return this.request('GET', '/api/users/me');
  }

  oidcProviders(): Promise<{ providers: OidcProvider[] }> {
    return this.request('GET', '/api/auth/oidc/providers', { auth: false });
  }

  /** Where a browser goes to log in with `provider`, coming back to `redirect` with tokens. */
  oidcStartUrl(provider: OidcProvider, redirect: string): string {
    return this.url(provider.start, { redirect });
  }

  home(limit = 20, signal?: AbortSignal): Promise<Home> {
    return this.request('GET', '/api/home', { query: { limit }, ...(signal ? { signal } : {}) });
  }

  items(query: ItemsQuery, signal?: AbortSignal): Promise<ItemPage> {
    return this.request('GET', '/api/items', {
      query: query as Record<string, QueryValue>,
      ...(signal ? { signal } : {}),
    });
  }

  item(id: number): Promise<ItemDetail> {
    return this.request('GET', `/api/items/${id}`);
  }

  series(id: number): Promise<SeriesDetail> {
    return this.request('GET', `/api/series/${id}`);
  }

  season(id: number): Promise<SeasonDetail> {
    return this.request('GET', `/api/seasons/${id}`);
  }

  album(id: number): Promise<AlbumDetail> {
    return this.request('GET', `/api/albums/${id}`);
  }

  search(q: string, limit = 20, signal?: AbortSignal): Promise<ItemList> {
    return this.request('GET', '/api/search', {
      query: { q, limit },
      ...(signal ? { signal } : {}),
    });
  }

  genres(query: { library_id?: number; type?: string[] } = {}): Promise<GenreList> {
    return this.request('GET', '/api/genres', { query });
  }

  years(query: { library_id?: number; type?: string[] } = {}): Promise<YearList> {
    return this.request('GET', '/api/years', { query });
  }

  libraries(): Promise<LibraryList> {
    return this.request('GET', '/api/libraries');
  }

  setPlayed(id: number, played: boolean): Promise<UserState> {
    return this.request(played ? 'POST' : 'DELETE', `/api/items/${id}/played`);
  }

  setFavorite(id: number, favorite: boolean): Promise<UserState> {
    return this.request(favorite ? 'POST' : 'DELETE', `/api/items/${id}/favorite`);
  }

  /** An image URL, resized by the server (`?width=` in device pixels). */
  imageUrl(path: string, width?: number): string {
    return this.url(path, width ? { width: Math.min(4096, Math.round(width)) } : undefined);
  }

  startPlayback(body: PlaybackRequest): Promise<PlaybackSession> {
    return this.request('POST', '/api/playback', { body });
  }

  reportProgress(
    sessionId: string,
    positionUs: number,
    paused: boolean,
    keepalive = false,
  ): Promise<void> {
    return this.request('POST', `/api/playback/${encodeURIComponent(sessionId)}/progress`, {
      body: { position_us: Math.max(0, Math.round(positionUs)), paused },
      keepalive,
    });
  }

  /** The qualities a title can be downloaded at, with their sizes. */
  downloadOptions(itemId: number): Promise<DownloadOptions> {
    return this.request('GET', `/api/items/${itemId}/downloads`);
  }

  /** The path of a title's MP4 at `quality` (GET it with the Authorization header). */
  downloadPath(itemId: number, quality: string): string {
    return `/api/items/${itemId}/download?${queryString({ quality })}`;
  }

  stopPlayback(sessionId: string, keepalive = false): Promise<void> {
    return this.request('DELETE', `/api/playback/${encodeURIComponent(sessionId)}`, { keepalive });
  }
}

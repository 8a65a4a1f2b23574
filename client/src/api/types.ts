/**
 * The API's types. The catalog's (items, libraries, playlists ...) come from the server's
 * OpenAPI document (`npm run gen:api` writes schema.d.ts from openapi.json, a saved copy of
 * /api/openapi.json); the auth and playback routes answer JSON that the document does not
 * describe ("not described in detail"), so their shapes are written here from
 * web/auth/routes.py, web/auth/oidc_routes.py and web/streaming.py.
 */
import type { components, operations, paths } from './schema';

type S = components['schemas'];

/** The JSON body of a path's 200 (or 201) answer, as the OpenAPI document describes it. */
type Ok<P extends keyof paths, M extends 'get' | 'post' | 'put' | 'delete'> = paths[P][M] extends {
  responses: infer R;
}
  ? R extends { 200: { content: { 'application/json': infer B } } }
    ? B
    : R extends { 201: { content: { 'application/json': infer B } } }
      ? B
      : never
  : never;

export type Item = S['Item'];
export type ItemType = S['ItemType'];
export type Stream = S['Stream'];
export type Image = S['Image'];
export type UserState = S['UserState'];
export type Genre = S['Genre'];
export type Season = S['Season'];
export type Library = S['Library'];
export type Playlist = S['Playlist'];
export type ErrorResponse = S['ErrorResponse'];

export type ItemPage = Ok<'/api/items', 'get'>;
export type ItemList = Ok<'/api/search', 'get'>;
export type ItemDetail = Ok<'/api/items/{item_id}', 'get'>;
export type SeriesDetail = Ok<'/api/series/{series_id}', 'get'>;
export type SeasonDetail = Ok<'/api/seasons/{season_id}', 'get'>;
export type AlbumDetail = Ok<'/api/albums/{album_id}', 'get'>;
export type GenreList = Ok<'/api/genres', 'get'>;
export type YearList = Ok<'/api/years', 'get'>;
export type Home = Ok<'/api/home', 'get'>;
export type LibraryList = Ok<'/api/libraries', 'get'>;
export type PlaylistList = Ok<'/api/playlists', 'get'>;

/** GET /api/items query parameters. */
export type ItemsQuery = NonNullable<operations['get_items_list_items']['parameters']['query']>;
export type SortName = NonNullable<ItemsQuery['sort']>;

export interface Who {
  id: number;
  username: string;
  roles: string[];
  max_parental_rating: number | null;
  library_ids: number[] | null;
}

/** The answer of POST /api/auth/login, /refresh and /invites/accept. */
export interface TokenResponse {
  token_type: 'Bearer';
  access_token: string;
  expires_at: string | null;
  refresh_token: string;
  refresh_expires_at: string | null;
  session_id: string;
  user: Who & { display_name: string | null };
}

/** GET /api/users/me */
export interface Me extends Who {
  email: string | null;
  display_name: string | null;
  provider: string;
  auth_method: 'bearer' | 'basic' | 'api_key' | 'stream';
  session_id: string | null;
}

export interface OidcProvider {
  name: string;
  display_name: string;
  /** A path on the server: GET it (a browser navigation) with ?redirect= to log in. */
  start: string;
}

/** Device profiles the server knows (engine/sessions/profiles.py BUILT_IN). */
export type DeviceProfile =
  | 'chromium'
  | 'safari'
  | 'android'
  | 'apple-tv'
  | 'android-tv'
  | 'legacy-ts';

/** POST /api/playback */
export interface PlaybackRequest {
  item_id: number;
  profile: DeviceProfile;
  max_height?: number;
  max_bitrate?: number;
  audio_stream?: number;
}

export interface PlaybackSession {
  session_id: string;
  stream_token: string | null;
  method: 'direct_play' | 'direct_stream' | 'transcode' | string;
  video: string | null;
  audio: string | null;
  reasons: string[];
  /** Rendition ids: v0 (the original), the transcode ladder, a0.., s0.. */
  renditions: string[];
  /** Server paths carrying ?token=: resolve them against the server with ApiClient.url. */
  master_url: string;
  dash_url: string;
  direct_url: string | null;
}

/** One quality of GET /api/items/{item_id}/downloads (typed by hand until the schema has it). */
export interface DownloadQuality {
  /** "original" or "<height>p": the `quality` of GET /api/items/{item_id}/download. */
  quality: string;
  height: number;
  width: number;
  bit_rate: number | null;
  /** Exact for the original, an estimate for a transcode. */
  size_bytes: number | null;
  transcoded: boolean;
}

/** GET /api/items/{item_id}/downloads */
export interface DownloadOptions {
  item_id: number;
  qualities: DownloadQuality[];
}

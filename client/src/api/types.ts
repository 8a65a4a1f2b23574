/**
 * The API's types. The catalog's (items, libraries, playlists ...) come from the server's
 * OpenAPI document (`npm run gen:api` writes schema.d.ts from openapi.json); the auth and
 * playback routes answer plain JSON that the document does not describe, so their shapes are
 * written here from web/auth/routes.py, web/auth/oidc_routes.py and web/streaming.py.
 */
import type { components } from './schema';

type S = components['schemas'];

export type Item = S['Item'];
export type ItemType = S['ItemType'];
export type ItemPage = S['ItemPage'];
export type ItemList = S['ItemList'];
export type ItemDetail = S['ItemDetail'];
export type SeriesDetail = S['SeriesDetail'];
export type SeasonDetail = S['SeasonDetail'];
export type AlbumDetail = S['AlbumDetail'];
export type Season = S['Season'];
export type Stream = S['Stream'];
export type Image = S['Image'];
export type UserState = S['UserState'];
export type Genre = S['Genre'];
export type GenreList = S['GenreList'];
export type YearList = S['YearList'];
export type Home = S['Home'];
export type Library = S['Library'];
export type LibraryList = S['LibraryList'];
export type Playlist = S['Playlist'];
export type PlaylistList = S['PlaylistList'];
export type ErrorResponse = S['ErrorResponse'];

export type SortName = 'title' | 'added' | 'year' | 'rating';

/** GET /api/items query parameters (web/api/schemas.py ItemsQuery). */
export interface ItemsQuery {
  library_id?: number;
  type?: ItemType[];
  genre?: number[];
  year?: number;
  year_min?: number;
  year_max?: number;
  unwatched?: boolean;
  favorite?: boolean;
  series_id?: number;
  season_id?: number;
  album_id?: number;
  search?: string;
  sort?: SortName;
  order?: 'asc' | 'desc';
  limit?: number;
  cursor?: string;
  total?: boolean;
}

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

/**
 * The download manager's decisions, with no I/O: the queue and each download's state as a
 * reducer over events, which download starts next, what request resumes one (a Range from the
 * bytes kept, when the server said it accepts ranges) and what a response means (append, start
 * over, wait for busy encoders, fail). ./manager.ts runs them; ./backend(.web).ts moves bytes.
 *
 *   queued ──started──▶ downloading ──done──▶ done
 *     ▲  ▲                │   │
 *     │  └─busy (429)─────┘   ├──pause──▶ paused ──resume──▶ queued
 *     └────────resume─────────┴──failed─▶ failed ──resume──▶ queued
 *   remove (cancel or delete) drops a download in any state.
 */

export type DownloadStatus = 'queued' | 'downloading' | 'paused' | 'failed' | 'done';

export interface Download {
  /** `${itemId}-${quality}`: one download per title and quality. */
  id: string;
  itemId: number;
  title: string;
  /** A second line: the series and episode, the year. */
  subtitle: string | null;
  quality: string;
  status: DownloadStatus;
  /** Bytes stored so far (kept over a pause). */
  bytes: number;
  /** The size: exact from Content-Length, else the server's estimate (or null). */
  total: number | null;
  exact: boolean;
  /** The server answered with a length and `Accept-Ranges: bytes`: a Range request resumes. */
  resumable: boolean;
  error: string | null;
  /** Queued again after the server was busy: not before this (ms since the epoch). */
  retryAt: number | null;
  addedAt: number;
  finishedAt: number | null;
}

export interface DownloadsState {
  /** In queue order (the order they were added). */
  downloads: Download[];
}

export interface NewDownload {
  itemId: number;
  title: string;
  subtitle?: string | null;
  quality: string;
  /** The server's size (exact for the original, an estimate for a transcode). */
  sizeBytes: number | null;
}

export type DownloadEvent =
  | { type: 'restore'; downloads: Download[] }
  | { type: 'add'; download: NewDownload; now: number }
  | { type: 'started'; id: string }
  | { type: 'response'; id: string; response: Receiving }
  | { type: 'progress'; id: string; bytes: number }
  | { type: 'pause'; id: string }
  | { type: 'resume'; id: string }
  | { type: 'failed'; id: string; reason: string }
  | { type: 'busy'; id: string; retryAfterS: number; now: number }
  | { type: 'done'; id: string; bytes: number; now: number }
  | { type: 'remove'; id: string };

export const initialDownloads: DownloadsState = { downloads: [] };

export function downloadId(itemId: number, quality: string): string {
  return `${itemId}-${quality}`;
}

function update(state: DownloadsState, id: string, change: (d: Download) => Download | null): DownloadsState {
  let changed = false;
  const downloads = state.downloads.map((d) => {
    if (d.id !== id) return d;
    const next = change(d);
    if (next && next !== d) changed = true;
    return next ?? d;
  });
  return changed ? { downloads } : state;
}

export function downloadsReducer(state: DownloadsState, event: DownloadEvent): DownloadsState {
  switch (event.type) {
    case 'restore':
      // A download that was running when the app went away goes on where its bytes end.
      return {
        downloads: event.downloads.map((d) => (d.status === 'downloading' ? { ...d, status: 'queued' } : d)),
      };
    case 'add': {
      const { download: n, now } = event;
      const id = downloadId(n.itemId, n.quality);
      const existing = state.downloads.find((d) => d.id === id);
      if (existing) {
        // Adding again retries a failed or paused one; a queued, running or done one stays.
        return existing.status === 'failed' || existing.status === 'paused'
          ? downloadsReducer(state, { type: 'resume', id })
          : state;
      }
      const added: Download = {
        id,
        itemId: n.itemId,
        title: n.title,
        subtitle: n.subtitle ?? null,
        quality: n.quality,
        status: 'queued',
        bytes: 0,
        total: n.sizeBytes,
        exact: false,
        resumable: false,
        error: null,
        retryAt: null,
        addedAt: now,
        finishedAt: null,
      };
      return { downloads: [...state.downloads, added] };
    }
    case 'started':
      return update(state, event.id, (d) =>
        d.status === 'queued' ? { ...d, status: 'downloading', error: null, retryAt: null } : null,
      );
    case 'response':
      return update(state, event.id, (d) => {
        if (d.status !== 'downloading') return null;
        const r = event.response;
        return {
          ...d,
          bytes: r.kind === 'restart' ? 0 : d.bytes,
          total: r.total ?? d.total,
          exact: r.total !== null ? r.exact : d.exact,
          resumable: r.resumable,
        };
      });
    case 'progress':
      // A pause lands before the transfer's last write: the bytes it kept still count.
      return update(state, event.id, (d) =>
        d.status === 'downloading' || d.status === 'paused' ? { ...d, bytes: event.bytes } : null,
      );
    case 'pause':
      return update(state, event.id, (d) =>
        d.status === 'downloading' || d.status === 'queued' ? { ...d, status: 'paused', retryAt: null } : null,
      );
    case 'resume':
      return update(state, event.id, (d) => {
        if (d.status !== 'paused' && d.status !== 'failed') return null;
        // Without ranges a resume starts over: the bytes kept so far are no use.
        return { ...d, status: 'queued', error: null, bytes: d.resumable ? d.bytes : 0 };
      });
    case 'failed':
      return update(state, event.id, (d) =>
        d.status === 'downloading' ? { ...d, status: 'failed', error: event.reason } : null,
      );
    case 'busy':
      return update(state, event.id, (d) =>
        d.status === 'downloading'
          ? {
              ...d,
              status: 'queued',
              retryAt: event.now + Math.max(1, event.retryAfterS) * 1000,
              error: 'The server is busy: trying again shortly',
            }
          : null,
      );
    case 'done':
      return update(state, event.id, (d) =>
        d.status === 'downloading'
          ? { ...d, status: 'done', bytes: event.bytes, total: event.bytes, exact: true, error: null, finishedAt: event.now }
          : null,
      );
    case 'remove':
      return state.downloads.some((d) => d.id === event.id)
        ? { downloads: state.downloads.filter((d) => d.id !== event.id) }
        : state;
  }
}

// --- what runs next -------------------------------------------------------------------------------

/** The queued download to start now, if fewer than `maxActive` are running. */
export function nextToStart(state: DownloadsState, now: number, maxActive = 1): Download | null {
  const active = state.downloads.filter((d) => d.status === 'downloading').length;
  if (active >= maxActive) return null;
  return state.downloads.find((d) => d.status === 'queued' && (d.retryAt === null || d.retryAt <= now)) ?? null;
}

/** When a download waiting out a busy server may start (ms since the epoch), if one waits. */
export function nextWakeAt(state: DownloadsState, now: number): number | null {
  const times = state.downloads
    .filter((d) => d.status === 'queued' && d.retryAt !== null && d.retryAt > now)
    .map((d) => d.retryAt as number);
  return times.length ? Math.min(...times) : null;
}

// --- requests and responses -----------------------------------------------------------------------

/** The byte offset to ask from: the bytes kept, when the server accepts ranges. */
export function resumeOffset(d: Download): number {
  return d.resumable && d.bytes > 0 ? d.bytes : 0;
}

export function requestHeaders(offset: number): Record<string, string> {
  return offset > 0 ? { Range: `bytes=${offset}-` } : {};
}

/** What an answer to a download request means. */
export interface Receiving {
  kind: 'append' | 'restart';
  total: number | null;
  exact: boolean;
  resumable: boolean;
}

export type Accepted =
  | Receiving
  | { kind: 'busy'; retryAfterS: number }
  | { kind: 'fail'; reason: string };

const DEFAULT_RETRY_S = 10;

/** Decide on a response to a request sent from `offset` (`header` reads a response header). */
export function acceptResponse(
  offset: number,
  status: number,
  header: (name: string) => string | null,
  estimate: number | null,
): Accepted {
  const length = parseLength(header('content-length'));
  if (status === 206) {
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header('content-range') ?? '');
    if (!range || Number(range[1]) !== offset) return { kind: 'fail', reason: 'The server sent the wrong part of the file' };
    const total = range[3] === '*' ? null : Number(range[3]);
    return { kind: 'append', total, exact: total !== null, resumable: true };
  }
  if (status === 200) {
    // A whole file: anything kept is replaced. Chunked (no length) means a transcode as it is
    // made: the estimate is the size, and a pause has to start over.
    const resumable = length !== null && (header('accept-ranges') ?? '').toLowerCase().includes('bytes');
    return { kind: 'restart', total: length ?? estimate, exact: length !== null, resumable };
  }
  if (status === 429 || status === 503) {
    const after = Number(header('retry-after'));
    return { kind: 'busy', retryAfterS: Number.isFinite(after) && after > 0 ? after : DEFAULT_RETRY_S };
  }
  if (status === 404) return { kind: 'fail', reason: 'Not available to download' };
  if (status === 401 || status === 403) return { kind: 'fail', reason: 'Not allowed: sign in again' };
  return { kind: 'fail', reason: `The server answered ${status}` };
}

function parseLength(value: string | null): number | null {
  if (value === null || !/^\d+$/.test(value.trim())) return null;
  return Number(value);
}

// --- what the screens show ------------------------------------------------------------------------

/** 0..1; an estimated size never shows 100% before the end. */
export function progressOf(d: Download): number {
  if (d.status === 'done') return 1;
  if (!d.total || d.total <= 0) return 0;
  const f = d.bytes / d.total;
  return Math.max(0, Math.min(d.exact ? 1 : 0.99, f));
}

/** Bytes kept on this device, finished or not. */
export function storageUsed(state: DownloadsState): number {
  return state.downloads.reduce((sum, d) => sum + d.bytes, 0);
}

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = n / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

export function qualityName(quality: string): string {
  return quality === 'original' ? 'Original' : quality;
}

/** One line for a download's state: "Downloading: 45% (1.2 MB of 2.6 MB)". */
export function statusLine(d: Download): string {
  const pct = `${Math.floor(progressOf(d) * 100)}%`;
  const size = d.total ? `${formatBytes(d.bytes)} of ${d.exact ? '' : 'about '}${formatBytes(d.total)}` : formatBytes(d.bytes);
  switch (d.status) {
    case 'queued':
      return d.retryAt ? 'Waiting: the server is busy' : 'Queued';
    case 'downloading':
      return `Downloading: ${pct} (${size})`;
    case 'paused':
      return `Paused at ${pct} (${size})`;
    case 'failed':
      return `Failed: ${d.error ?? 'unknown error'}`;
    case 'done':
      return `Downloaded (${formatBytes(d.bytes)})`;
  }
}

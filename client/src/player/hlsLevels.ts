/** hls.js levels and tracks as the reducer's `Level` and `Track` (kept free of hls.js imports). */
import { levelLabel, type Level, type Track } from './state';

export interface HlsLevelLike {
  height?: number;
  bitrate?: number;
  name?: string;
}

export interface HlsTrackLike {
  name?: string;
  lang?: string;
}

/** Levels highest first for the menu; labels unique ("1080p", "1080p (2)" if two share it). */
export function toLevels(levels: readonly HlsLevelLike[]): Level[] {
  const seen = new Map<string, number>();
  const out = levels.map((l, index) => {
    const base = levelLabel(l.height ?? 0, l.bitrate ?? 0);
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return { index, height: l.height ?? 0, bitrate: l.bitrate ?? 0, label: n > 1 ? `${base} (${n})` : base };
  });
  return out.sort((a, b) => b.height - a.height || b.bitrate - a.bitrate);
}

export function toTracks(tracks: readonly HlsTrackLike[], fallback: string): Track[] {
  return tracks.map((t, index) => ({
    index,
    label: t.name || (t.lang ? t.lang : `${fallback} ${index + 1}`),
    language: t.lang ?? null,
  }));
}

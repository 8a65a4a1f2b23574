/** How items are named on screen and to screen readers. */
import type { Item } from '../api/types';
import { formatTime } from '../player/state';

export function episodeCode(item: Pick<Item, 'season_number' | 'episode_number'>): string | null {
  if (item.season_number === null && item.episode_number === null) return null;
  const s = item.season_number !== null ? `S${item.season_number}` : '';
  const e = item.episode_number !== null ? `E${item.episode_number}` : '';
  return `${s}${e}`;
}

/** The card's first line: the series for an episode, else the title. */
export function primaryTitle(item: Item): string {
  return item.type === 'episode' && item.series_title ? item.series_title : item.title;
}

/** The card's second line: "S1E2 · Pilot", the year, or the artist. */
export function secondaryTitle(item: Item): string | null {
  if (item.type === 'episode') {
    const code = episodeCode(item);
    return [code, item.title].filter(Boolean).join(' · ');
  }
  if (item.type === 'track') return item.artist;
  return item.year !== null ? String(item.year) : null;
}

export function remainingLabel(item: Item): string | null {
  if (!item.duration_us || item.user.position_us <= 0) return null;
  return `${formatTime(item.duration_us - item.user.position_us)} left`;
}

/** What a screen reader says for a card. */
export function itemAccessibilityLabel(item: Item): string {
  const parts = [primaryTitle(item), secondaryTitle(item)];
  if (item.user.played) parts.push('watched');
  const left = remainingLabel(item);
  if (left) parts.push(left);
  return parts.filter(Boolean).join(', ');
}

export function progressFraction(item: Item): number {
  if (!item.duration_us || item.user.position_us <= 0 || item.user.played) return 0;
  return item.user.position_us / item.duration_us;
}

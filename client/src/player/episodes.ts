/** What comes after an episode: the next one in its season, else the first of the next season. */
import type { Item, Season } from '../api/types';

export type NextEpisode =
  | { kind: 'episode'; item: Item }
  | { kind: 'season'; seasonId: number }
  | { kind: 'none' };

export function nextEpisode(
  current: Pick<Item, 'id' | 'season_id'>,
  seasonEpisodes: readonly Item[],
  seasons: readonly Season[],
): NextEpisode {
  const i = seasonEpisodes.findIndex((e) => e.id === current.id);
  if (i >= 0 && i + 1 < seasonEpisodes.length) {
    const item = seasonEpisodes[i + 1];
    if (item) return { kind: 'episode', item };
  }
  const ordered = [...seasons].sort((a, b) => a.number - b.number);
  const s = ordered.findIndex((season) => season.id === current.season_id);
  const following = s >= 0 ? ordered.slice(s + 1).find((season) => season.episode_count > 0) : undefined;
  return following ? { kind: 'season', seasonId: following.id } : { kind: 'none' };
}

import { commandForKey, keyBelongsToControl } from '../player/keys';
import { ProgressReporter } from '../player/progress';
import { deviceProfile } from '../player/profile';
import { nextEpisode } from '../player/episodes';
import { toLevels, toTracks } from '../player/hlsLevels';
import { noteLeftSession, takeLeftSessions } from '../player/leftovers';
import type { Item, Season } from '../api/types';

describe('keyboard shortcuts', () => {
  it.each([
    [' ', 'toggle-play'],
    ['k', 'toggle-play'],
    ['ArrowLeft', 'seek-by'],
    ['ArrowRight', 'seek-by'],
    ['ArrowUp', 'volume-by'],
    ['f', 'toggle-fullscreen'],
    ['m', 'toggle-mute'],
    ['c', 'toggle-captions'],
    ['Escape', 'back'],
  ])('%j -> %s', (key, type) => {
    expect(commandForKey({ key })?.type).toBe(type);
  });

  it('seeks 10 s each way and leaves modified keys alone', () => {
    expect(commandForKey({ key: 'ArrowLeft' })).toEqual({ type: 'seek-by', seconds: -10 });
    expect(commandForKey({ key: 'ArrowRight' })).toEqual({ type: 'seek-by', seconds: 10 });
    expect(commandForKey({ key: 'f', ctrlKey: true })).toBeNull();
    expect(commandForKey({ key: 'x' })).toBeNull();
  });

  it('lets focused controls keep their keys', () => {
    expect(keyBelongsToControl(' ', 'BUTTON', null)).toBe(true);
    expect(keyBelongsToControl('ArrowDown', 'div', 'menuitem')).toBe(true);
    expect(keyBelongsToControl('ArrowLeft', 'div', 'button')).toBe(false);
    expect(keyBelongsToControl('m', 'INPUT', null)).toBe(true);
    expect(keyBelongsToControl(' ', 'video', null)).toBe(false);
  });
});

describe('ProgressReporter', () => {
  function setup() {
    let t = 0;
    const sent: { positionUs: number; paused: boolean; final: boolean }[] = [];
    const reporter = new ProgressReporter(
      async (r, final) => {
        sent.push({ ...r, final });
      },
      () => t,
    );
    return { reporter, sent, advance: (ms: number) => (t += ms) };
  }

  it('reports every 10 s while playing', async () => {
    const { reporter, sent, advance } = setup();
    for (let s = 0; s <= 25; s += 1) {
      reporter.tick(s * 1e6, true);
      await Promise.resolve();
      advance(1000);
    }
    expect(sent.map((r) => r.positionUs)).toEqual([0, 10e6, 20e6]);
  });

  it('does not report ticks while paused, but reports the pause at once', async () => {
    const { reporter, sent, advance } = setup();
    reporter.tick(1e6, true);
    await Promise.resolve();
    advance(2000);
    reporter.report(3e6, true);
    reporter.report(3e6, true); // the same again: not sent twice
    advance(20_000);
    reporter.tick(3e6, false);
    expect(sent).toEqual([
      { positionUs: 1e6, paused: false, final: false },
      { positionUs: 3e6, paused: true, final: false },
    ]);
  });

  it('always sends the final report', () => {
    const { reporter, sent } = setup();
    reporter.report(5e6, true);
    reporter.final(5e6);
    expect(sent.at(-1)).toEqual({ positionUs: 5e6, paused: true, final: true });
  });

  it('survives a failing server', async () => {
    let t = 0;
    const reporter = new ProgressReporter(() => Promise.reject(new Error('down')), () => t);
    reporter.tick(0, true);
    await new Promise((r) => setTimeout(r, 0));
    t = 20_000;
    expect(() => reporter.tick(20e6, true)).not.toThrow();
  });
});

describe('deviceProfile', () => {
  it.each([
    ['web', false, 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0 Safari/537.36', 'chromium'],
    ['web', false, 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0', 'chromium'],
    ['web', false, 'Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 Version/18.0 Safari/605.1.15', 'safari'],
    ['ios', false, '', 'safari'],
    ['ios', true, '', 'apple-tv'],
    ['android', false, '', 'android'],
    ['android', true, '', 'android-tv'],
  ])('%s tv=%s', (os, tv, ua, profile) => {
    expect(deviceProfile(os, tv, ua)).toBe(profile);
  });
});

function episode(id: number, seasonId: number): Item {
  return { id, season_id: seasonId } as Item;
}

describe('nextEpisode', () => {
  const seasons = [
    { id: 20, number: 2, title: null, episode_count: 3, unplayed_count: 3 },
    { id: 10, number: 1, title: null, episode_count: 2, unplayed_count: 0 },
    { id: 30, number: 3, title: null, episode_count: 0, unplayed_count: 0 },
  ] as Season[];
  const s1 = [episode(1, 10), episode(2, 10)];

  it('is the next one in the season', () => {
    expect(nextEpisode(s1[0]!, s1, seasons)).toEqual({ kind: 'episode', item: s1[1] });
  });
  it('is the next season after the last episode', () => {
    expect(nextEpisode(s1[1]!, s1, seasons)).toEqual({ kind: 'season', seasonId: 20 });
  });
  it('skips empty seasons and ends after the last', () => {
    const s2 = [episode(5, 20)];
    expect(nextEpisode(s2[0]!, s2, seasons)).toEqual({ kind: 'none' });
  });
});

describe('hls levels', () => {
  it('sorts highest first and labels duplicates', () => {
    const levels = toLevels([
      { height: 360, bitrate: 800e3 },
      { height: 1080, bitrate: 8e6 },
      { height: 1080, bitrate: 5e6 },
      { bitrate: 128e3 },
    ]);
    expect(levels.map((l) => [l.index, l.label])).toEqual([
      [1, '1080p'],
      [2, '1080p (2)'],
      [0, '360p'],
      [3, '128 kb/s'],
    ]);
  });
  it('names tracks', () => {
    expect(toTracks([{ name: 'English', lang: 'en' }, { lang: 'fr' }, {}], 'Audio')).toEqual([
      { index: 0, label: 'English', language: 'en' },
      { index: 1, label: 'fr', language: 'fr' },
      { index: 2, label: 'Audio 3', language: null },
    ]);
  });
});

describe('sessions left open by a page that went away', () => {
  function memoryStorage(): Storage {
    const data = new Map<string, string>();
    return {
      get length() {
        return data.size;
      },
      clear: () => data.clear(),
      getItem: (k: string) => data.get(k) ?? null,
      key: (i: number) => [...data.keys()][i] ?? null,
      removeItem: (k: string) => void data.delete(k),
      setItem: (k: string, v: string) => void data.set(k, v),
    };
  }

  it('hands each noted session to the next page once', () => {
    const s = memoryStorage();
    noteLeftSession('a', s);
    noteLeftSession('b', s);
    noteLeftSession('a', s);
    expect(takeLeftSessions(s)).toEqual(['a', 'b']);
    expect(takeLeftSessions(s)).toEqual([]);
  });

  it('survives a damaged entry and no storage at all', () => {
    const s = memoryStorage();
    s.setItem('reelbox.leftSessions', '{not json');
    expect(takeLeftSessions(s)).toEqual([]);
    expect(takeLeftSessions(null)).toEqual([]);
    expect(() => noteLeftSession('x', null)).not.toThrow();
  });
});

describe('ProgressReporter.final', () => {
  it('settles once the report is sent, even when sending fails', async () => {
    const reporter = new ProgressReporter(async () => {
      throw new Error('offline');
    });
    await expect(reporter.final(1e6)).resolves.toBeUndefined();
  });
});

import {
  formatTime,
  initialState,
  isBusy,
  playerReducer,
  qualityLabel,
  resumePosition,
  shownSubtitleTrack,
  wantsPlay,
  type Level,
  type PlayerEvent,
  type PlayerState,
} from '../player/state';

const levels: Level[] = [
  { index: 0, height: 1080, bitrate: 8_000_000, label: '1080p' },
  { index: 1, height: 720, bitrate: 3_000_000, label: '720p' },
  { index: 2, height: 360, bitrate: 800_000, label: '360p' },
];
const audio = [
  { index: 0, label: 'English', language: 'en' },
  { index: 1, label: 'Français', language: 'fr' },
];
const subs = [{ index: 0, label: 'English', language: 'en' }];

function run(events: PlayerEvent[], from: PlayerState = initialState): PlayerState {
  return events.reduce(playerReducer, from);
}

const ready: PlayerEvent[] = [
  { type: 'load', startAtUs: 0, durationUs: 60_000_000 },
  { type: 'ready', levels, audioTracks: audio, subtitleTracks: subs },
];

describe('player phases', () => {
  it.each<[string, PlayerEvent[], PlayerState['phase']]>([
    ['loading', [{ type: 'load', startAtUs: 0 }], 'loading'],
    ['ready is paused', ready, 'paused'],
    ['playing', [...ready, { type: 'playing' }], 'playing'],
    ['paused', [...ready, { type: 'playing' }, { type: 'paused' }], 'paused'],
    ['buffering', [...ready, { type: 'playing' }, { type: 'waiting' }], 'buffering'],
    ['buffering ends', [...ready, { type: 'playing' }, { type: 'waiting' }, { type: 'playing' }], 'playing'],
    ['waiting while paused changes nothing', [...ready, { type: 'waiting' }], 'paused'],
    ['seeking', [...ready, { type: 'playing' }, { type: 'seeking', toUs: 30_000_000 }], 'seeking'],
    ['seek while playing resumes playing', [...ready, { type: 'playing' }, { type: 'seeking', toUs: 3e7 }, { type: 'seeked' }], 'playing'],
    ['seek while paused stays paused', [...ready, { type: 'seeking', toUs: 3e7 }, { type: 'seeked' }], 'paused'],
    ['pause during a seek lands paused', [...ready, { type: 'playing' }, { type: 'seeking', toUs: 3e7 }, { type: 'paused' }, { type: 'seeked' }], 'paused'],
    ['ended', [...ready, { type: 'playing' }, { type: 'ended' }], 'ended'],
    ['pause after end stays ended', [...ready, { type: 'playing' }, { type: 'ended' }, { type: 'paused' }], 'ended'],
    ['seek after end', [...ready, { type: 'ended' }, { type: 'seeking', toUs: 0 }, { type: 'seeked' }], 'paused'],
    ['fatal error', [...ready, { type: 'playing' }, { type: 'error', message: 'network', fatal: true }], 'error'],
    ['non-fatal error is ignored', [...ready, { type: 'playing' }, { type: 'error', message: 'stall', fatal: false }], 'playing'],
    ['no playing after a fatal error', [...ready, { type: 'error', message: 'x', fatal: true }, { type: 'playing' }], 'error'],
    ['ready after playing keeps playing', [{ type: 'load', startAtUs: 0 }, { type: 'playing' }, { type: 'ready', levels, audioTracks: [], subtitleTracks: [] }], 'playing'],
    ['retry reloads', [...ready, { type: 'error', message: 'x', fatal: true }, { type: 'load', startAtUs: 0 }], 'loading'],
  ])('%s', (_name, events, phase) => {
    expect(run(events).phase).toBe(phase);
  });

  it('keeps the seek target while the element still reports the old time', () => {
    const s = run([...ready, { type: 'playing' }, { type: 'time', positionUs: 5e6 }, { type: 'seeking', toUs: 40e6 }, { type: 'time', positionUs: 5.2e6 }]);
    expect(s.positionUs).toBe(40e6);
    expect(run([{ type: 'seeked' }, { type: 'time', positionUs: 40.1e6 }], s).positionUs).toBe(40.1e6);
  });

  it('clamps a seek to the duration', () => {
    expect(run([...ready, { type: 'seeking', toUs: 99e6 }]).positionUs).toBe(60e6);
    expect(run([...ready, { type: 'seeking', toUs: -5 }]).positionUs).toBe(0);
  });

  it('shows busy and play-intent correctly', () => {
    const buffering = run([...ready, { type: 'playing' }, { type: 'waiting' }]);
    expect(isBusy(buffering)).toBe(true);
    expect(wantsPlay(buffering)).toBe(true);
    const paused = run(ready);
    expect(isBusy(paused)).toBe(false);
    expect(wantsPlay(paused)).toBe(false);
  });
});

describe('resume', () => {
  it('starts where the load says and forgets it once applied', () => {
    const s = run([{ type: 'load', startAtUs: 42e6, durationUs: 60e6 }]);
    expect(s.startAtUs).toBe(42e6);
    expect(s.positionUs).toBe(42e6);
    expect(run([{ type: 'started-at' }], s).startAtUs).toBeNull();
  });

  it.each<[string, { position_us: number; played: boolean } | null, number | null, number]>([
    ['no user data', null, 3600e6, 0],
    ['near the start', { position_us: 5e6, played: false }, 3600e6, 0],
    ['in the middle', { position_us: 1200e6, played: false }, 3600e6, 1200e6],
    ['near the end', { position_us: 3590e6, played: false }, 3600e6, 0],
    ['played', { position_us: 1200e6, played: true }, 3600e6, 0],
    ['unknown duration', { position_us: 1200e6, played: false }, null, 1200e6],
    ['a short clip resumes with relative margins', { position_us: 13e6, played: false }, 30e6, 13e6],
    ['a short clip near its end', { position_us: 28e6, played: false }, 30e6, 0],
  ])('%s', (_name, user, duration, expected) => {
    expect(resumePosition(user, duration)).toBe(expected);
  });
});

describe('quality and tracks', () => {
  it('is auto by default and follows the active level in its label', () => {
    const s = run([...ready, { type: 'level-switched', index: 1 }]);
    expect(s.quality).toBe('auto');
    expect(qualityLabel(s)).toBe('Auto (720p)');
  });

  it('pins a level and goes back to auto', () => {
    const pinned = run([...ready, { type: 'quality', quality: 2 }]);
    expect(pinned.quality).toBe(2);
    expect(qualityLabel(pinned)).toBe('360p');
    expect(run([{ type: 'quality', quality: 'auto' }], pinned).quality).toBe('auto');
  });

  it('ignores an unknown level', () => {
    expect(run([...ready, { type: 'quality', quality: 9 }]).quality).toBe('auto');
  });

  it('keeps the quality choice across a reload when the level exists', () => {
    const pinned = run([...ready, { type: 'quality', quality: 1 }]);
    expect(run(ready, pinned).quality).toBe(1);
    const fewer = run([{ type: 'load', startAtUs: 0 }, { type: 'ready', levels: [levels[0]!], audioTracks: [], subtitleTracks: [] }], pinned);
    expect(fewer.quality).toBe('auto');
  });

  it('chooses audio tracks', () => {
    expect(run(ready).audioTrack).toBe(0);
    expect(run([...ready, { type: 'audio-track', index: 1 }]).audioTrack).toBe(1);
    expect(run([...ready, { type: 'audio-track', index: 5 }]).audioTrack).toBe(0);
  });

  it('turns captions on and off, remembering the track', () => {
    const s = run(ready);
    expect(s.captions).toBe(false);
    expect(shownSubtitleTrack(s)).toBe(-1);
    const on = run([{ type: 'toggle-captions' }], s);
    expect(shownSubtitleTrack(on)).toBe(0);
    const off = run([{ type: 'subtitle-track', index: null }], on);
    expect(shownSubtitleTrack(off)).toBe(-1);
    expect(off.subtitleTrack).toBe(0);
    expect(shownSubtitleTrack(run([{ type: 'toggle-captions' }], off))).toBe(0);
  });

  it('learns tracks after the manifest and keeps a valid choice', () => {
    const bare = run([{ type: 'load', startAtUs: 0 }, { type: 'ready', levels, audioTracks: [], subtitleTracks: [] }]);
    expect(bare.subtitleTrack).toBeNull();
    const learned = run([{ type: 'tracks', subtitleTracks: subs }, { type: 'tracks', audioTracks: audio }, { type: 'toggle-captions' }], bare);
    expect(learned.subtitleTrack).toBe(0);
    expect(learned.audioTrack).toBe(0);
    expect(shownSubtitleTrack(learned)).toBe(0);
    const gone = run([{ type: 'tracks', subtitleTracks: [] }], learned);
    expect(gone.captions).toBe(false);
    expect(gone.subtitleTrack).toBeNull();
  });

  it('cannot turn captions on without subtitles', () => {
    const s = run([{ type: 'load', startAtUs: 0 }, { type: 'ready', levels, audioTracks: [], subtitleTracks: [] }, { type: 'toggle-captions' }]);
    expect(s.captions).toBe(false);
  });

  it('clamps the volume', () => {
    expect(run([{ type: 'volume', volume: 1.4, muted: false }]).volume).toBe(1);
    expect(run([{ type: 'volume', volume: -1, muted: true }])).toMatchObject({ volume: 0, muted: true });
  });
});

describe('formatTime', () => {
  it.each([
    [0, '0:00'],
    [65e6, '1:05'],
    [3723e6, '1:02:03'],
    [null, '0:00'],
  ])('%p -> %s', (us, text) => {
    expect(formatTime(us)).toBe(text);
  });
});

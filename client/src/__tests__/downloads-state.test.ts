import {
  acceptResponse,
  downloadsReducer,
  formatBytes,
  initialDownloads,
  nextToStart,
  nextWakeAt,
  progressOf,
  requestHeaders,
  resumeOffset,
  statusLine,
  storageUsed,
  type Download,
  type DownloadEvent,
  type DownloadsState,
} from '../downloads/state';

const NOW = 1_000_000;
const film = { itemId: 7, title: 'Night Signal', quality: '360p', sizeBytes: 1000 };

function run(events: DownloadEvent[], from: DownloadsState = initialDownloads): DownloadsState {
  return events.reduce(downloadsReducer, from);
}

const added: DownloadEvent[] = [{ type: 'add', download: film, now: NOW }];
const running: DownloadEvent[] = [...added, { type: 'started', id: '7-360p' }];
const ranged: DownloadEvent = {
  type: 'response',
  id: '7-360p',
  response: { kind: 'restart', total: 2000, exact: true, resumable: true },
};
const chunked: DownloadEvent = {
  type: 'response',
  id: '7-360p',
  response: { kind: 'restart', total: null, exact: false, resumable: false },
};

function only(state: DownloadsState): Download {
  expect(state.downloads).toHaveLength(1);
  return state.downloads[0]!;
}

describe('download states', () => {
  it.each<[string, DownloadEvent[], Partial<Download>]>([
    ['added: queued with the estimate', added, { status: 'queued', bytes: 0, total: 1000, exact: false }],
    ['started', running, { status: 'downloading' }],
    ['a length from the server replaces the estimate', [...running, ranged], { total: 2000, exact: true, resumable: true }],
    ['chunked keeps the estimate', [...running, chunked], { total: 1000, exact: false, resumable: false }],
    ['progress', [...running, { type: 'progress', id: '7-360p', bytes: 300 }], { bytes: 300 }],
    ['pause keeps the bytes', [...running, ranged, { type: 'progress', id: '7-360p', bytes: 300 }, { type: 'pause', id: '7-360p' }], { status: 'paused', bytes: 300 }],
    ['the last write after a pause counts', [...running, { type: 'pause', id: '7-360p' }, { type: 'progress', id: '7-360p', bytes: 400 }], { status: 'paused', bytes: 400 }],
    ['resume with ranges keeps the bytes', [...running, ranged, { type: 'progress', id: '7-360p', bytes: 300 }, { type: 'pause', id: '7-360p' }, { type: 'resume', id: '7-360p' }], { status: 'queued', bytes: 300 }],
    ['resume without ranges starts over', [...running, chunked, { type: 'progress', id: '7-360p', bytes: 300 }, { type: 'pause', id: '7-360p' }, { type: 'resume', id: '7-360p' }], { status: 'queued', bytes: 0 }],
    ['a restart answer drops the bytes', [...running, { type: 'progress', id: '7-360p', bytes: 300 }, ranged], { bytes: 0 }],
    ['failed', [...running, { type: 'failed', id: '7-360p', reason: 'network' }], { status: 'failed', error: 'network' }],
    ['retry after failing', [...running, { type: 'failed', id: '7-360p', reason: 'network' }, { type: 'resume', id: '7-360p' }], { status: 'queued', error: null }],
    ['busy: queued until Retry-After', [...running, { type: 'busy', id: '7-360p', retryAfterS: 5, now: NOW }], { status: 'queued', retryAt: NOW + 5000 }],
    ['done: the size is exact', [...running, { type: 'done', id: '7-360p', bytes: 1234, now: NOW + 1 }], { status: 'done', bytes: 1234, total: 1234, exact: true, finishedAt: NOW + 1 }],
    ['adding a done one again changes nothing', [...running, { type: 'done', id: '7-360p', bytes: 1234, now: NOW }, ...added], { status: 'done' }],
    ['adding a failed one again retries it', [...running, { type: 'failed', id: '7-360p', reason: 'x' }, ...added], { status: 'queued' }],
    ['pausing a done one does nothing', [...running, { type: 'done', id: '7-360p', bytes: 1, now: NOW }, { type: 'pause', id: '7-360p' }], { status: 'done' }],
    ['a stale progress after done is ignored', [...running, { type: 'done', id: '7-360p', bytes: 9, now: NOW }, { type: 'progress', id: '7-360p', bytes: 3 }], { bytes: 9 }],
  ])('%s', (_, events, expected) => {
    expect(only(run(events))).toMatchObject(expected);
  });

  it('remove drops it (cancel or delete)', () => {
    expect(run([...running, { type: 'remove', id: '7-360p' }]).downloads).toEqual([]);
  });

  it('restore goes on with a download that was running', () => {
    const before = only(run(running));
    expect(only(run([{ type: 'restore', downloads: [before] }])).status).toBe('queued');
  });

  it('events for unknown ids leave the state as it is', () => {
    const state = run(added);
    expect(downloadsReducer(state, { type: 'pause', id: 'nope' })).toBe(state);
  });
});

describe('the queue', () => {
  const two = run([...added, { type: 'add', download: { ...film, itemId: 8 }, now: NOW }]);

  it('starts the first queued one, one at a time', () => {
    expect(nextToStart(two, NOW)?.id).toBe('7-360p');
    const busy = downloadsReducer(two, { type: 'started', id: '7-360p' });
    expect(nextToStart(busy, NOW)).toBeNull();
    expect(nextToStart(busy, NOW, 2)?.id).toBe('8-360p');
  });

  it('a busy one waits while the next goes', () => {
    const waiting = run([{ type: 'started', id: '7-360p' }, { type: 'busy', id: '7-360p', retryAfterS: 3, now: NOW }], two);
    expect(nextToStart(waiting, NOW)?.id).toBe('8-360p');
    expect(nextWakeAt(waiting, NOW)).toBe(NOW + 3000);
    expect(nextToStart(waiting, NOW + 3000)?.id).toBe('7-360p');
  });

  it('storage used counts finished and partial bytes', () => {
    const state = run([{ type: 'started', id: '7-360p' }, { type: 'done', id: '7-360p', bytes: 500, now: NOW }, { type: 'started', id: '8-360p' }, { type: 'progress', id: '8-360p', bytes: 20 }], two);
    expect(storageUsed(state)).toBe(520);
  });
});

describe('requests and responses', () => {
  const headers = (h: Record<string, string>) => (name: string) => h[name] ?? null;
  const base = only(run(running));

  it('resumes with a Range only when the server accepts them', () => {
    expect(resumeOffset({ ...base, bytes: 300, resumable: true })).toBe(300);
    expect(resumeOffset({ ...base, bytes: 300, resumable: false })).toBe(0);
    expect(requestHeaders(300)).toEqual({ Range: 'bytes=300-' });
    expect(requestHeaders(0)).toEqual({});
  });

  it.each<[string, number, number, Record<string, string>, unknown]>([
    ['a whole file with ranges', 0, 200, { 'content-length': '2000', 'accept-ranges': 'bytes' }, { kind: 'restart', total: 2000, exact: true, resumable: true }],
    ['a whole file without Accept-Ranges', 0, 200, { 'content-length': '2000' }, { kind: 'restart', total: 2000, exact: true, resumable: false }],
    ['a chunked transcode: the estimate', 0, 200, {}, { kind: 'restart', total: 1000, exact: false, resumable: false }],
    ['the rest from the offset', 300, 206, { 'content-range': 'bytes 300-1999/2000' }, { kind: 'append', total: 2000, exact: true, resumable: true }],
    ['a part from elsewhere', 300, 206, { 'content-range': 'bytes 0-1999/2000' }, { kind: 'fail' }],
    ['a 200 to a Range: start over', 300, 200, { 'content-length': '2000', 'accept-ranges': 'bytes' }, { kind: 'restart' }],
    ['busy with Retry-After', 0, 429, { 'retry-after': '7' }, { kind: 'busy', retryAfterS: 7 }],
    ['busy without Retry-After', 0, 429, {}, { kind: 'busy', retryAfterS: 10 }],
    ['unknown quality', 0, 404, {}, { kind: 'fail', reason: 'Not available to download' }],
    ['server error', 0, 500, {}, { kind: 'fail', reason: 'The server answered 500' }],
  ])('%s', (_, offset, status, h, expected) => {
    expect(acceptResponse(offset, status, headers(h), 1000)).toMatchObject(expected as object);
  });
});

describe('what the screen shows', () => {
  const base = only(run(running));

  it('progress never reaches 100% on an estimate before the end', () => {
    expect(progressOf({ ...base, bytes: 500, total: 1000 })).toBe(0.5);
    expect(progressOf({ ...base, bytes: 1500, total: 1000, exact: false })).toBe(0.99);
    expect(progressOf({ ...base, bytes: 1000, total: 1000, exact: true })).toBe(1);
    expect(progressOf({ ...base, total: null })).toBe(0);
    expect(progressOf({ ...base, status: 'done' })).toBe(1);
  });

  it.each<[number, string]>([
    [0, '0 B'],
    [999, '999 B'],
    [1500, '1.5 kB'],
    [2_600_000, '2.6 MB'],
    [123_400_000, '123 MB'],
    [4_200_000_000, '4.2 GB'],
  ])('formatBytes(%d) = %s', (n, text) => {
    expect(formatBytes(n)).toBe(text);
  });

  it('status lines', () => {
    expect(statusLine({ ...base, bytes: 500, total: 1000 })).toBe('Downloading: 50% (500 B of about 1.0 kB)');
    expect(statusLine({ ...base, status: 'paused', bytes: 500, total: 1000, exact: true })).toBe('Paused at 50% (500 B of 1.0 kB)');
    expect(statusLine({ ...base, status: 'failed', error: 'network' })).toBe('Failed: network');
    expect(statusLine({ ...base, status: 'done', bytes: 2_600_000 })).toBe('Downloaded (2.6 MB)');
    expect(statusLine({ ...base, status: 'queued', retryAt: NOW })).toBe('Waiting: the server is busy');
  });
});

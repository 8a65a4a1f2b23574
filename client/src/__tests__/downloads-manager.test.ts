import { DownloadManager, type DownloadBackend, type Transfer, type TransferEvents } from '../downloads/manager';
import type { Download } from '../downloads/state';

/** A backend whose transfers the test drives by hand. */
class FakeBackend implements DownloadBackend {
  saved: Download[] = [];
  removed: string[] = [];
  started: { download: Download; events: TransferEvents; paused: boolean; cancelled: boolean }[] = [];
  constructor(private stored: Download[] = []) {}
  async load() {
    return this.stored;
  }
  async save(downloads: Download[]) {
    this.saved = downloads;
  }
  start(download: Download, events: TransferEvents): Transfer {
    const run = { download, events, paused: false, cancelled: false };
    this.started.push(run);
    return {
      pause: async () => {
        run.paused = true;
        return 300;
      },
      cancel: async () => {
        run.cancelled = true;
      },
    };
  }
  async remove(id: string) {
    this.removed.push(id);
  }
  async source(download: Download) {
    return `blob:${download.id}`;
  }
}

const film = { itemId: 7, title: 'Night Signal', quality: 'original', sizeBytes: 1000 };
const other = { ...film, itemId: 8, title: 'Moving Grid' };

function setup(stored: Download[] = []) {
  const backend = new FakeBackend(stored);
  let now = 5_000;
  const timers: { run: () => void; ms: number }[] = [];
  const manager = new DownloadManager(backend, {
    now: () => now,
    setTimer: (run, ms) => timers.push({ run, ms }),
    clearTimer: () => undefined,
  });
  return { backend, manager, timers, advance: (ms: number) => (now += ms) };
}

describe('DownloadManager', () => {
  it('runs one download at a time, in order, and saves the list', async () => {
    const { backend, manager } = setup();
    await manager.ready;
    manager.add(film);
    manager.add(other);
    expect(backend.started.map((s) => s.download.id)).toEqual(['7-original']);
    const first = backend.started[0]!.events;
    first.response({ kind: 'restart', total: 1000, exact: true, resumable: true });
    first.progress(400);
    expect(manager.find('7-original')).toMatchObject({ status: 'downloading', bytes: 400 });
    first.done(1000);
    expect(manager.find('7-original')?.status).toBe('done');
    expect(backend.started.map((s) => s.download.id)).toEqual(['7-original', '8-original']);
    await manager.flushed();
    expect(backend.saved.map((d) => d.status)).toEqual(['done', 'downloading']);
    await expect(manager.source('7-original')).resolves.toBe('blob:7-original');
    await expect(manager.source('8-original')).rejects.toThrow('Not downloaded');
  });

  it('pause keeps what the transfer kept; resume starts it again from there', async () => {
    const { backend, manager } = setup();
    await manager.ready;
    manager.add(film);
    backend.started[0]!.events.response({ kind: 'restart', total: 1000, exact: true, resumable: true });
    await manager.pause('7-original');
    expect(backend.started[0]!.paused).toBe(true);
    expect(manager.find('7-original')).toMatchObject({ status: 'paused', bytes: 300 });
    // Reports of the paused transfer no longer count.
    backend.started[0]!.events.done(1000);
    expect(manager.find('7-original')?.status).toBe('paused');
    manager.resume('7-original');
    expect(backend.started).toHaveLength(2);
    expect(backend.started[1]!.download).toMatchObject({ bytes: 300, status: 'downloading' });
  });

  it('cancel stops the transfer and removes the bytes; the next one starts', async () => {
    const { backend, manager } = setup();
    await manager.ready;
    manager.add(film);
    manager.add(other);
    await manager.remove('7-original');
    expect(backend.started[0]!.cancelled).toBe(true);
    expect(backend.removed).toEqual(['7-original']);
    expect(manager.state.downloads.map((d) => d.id)).toEqual(['8-original']);
    expect(backend.started[1]!.download.id).toBe('8-original');
  });

  it('a busy server: the download waits out Retry-After, then starts again', async () => {
    const { backend, manager, timers, advance } = setup();
    await manager.ready;
    manager.add(film);
    backend.started[0]!.events.response({ kind: 'busy', retryAfterS: 4 });
    expect(manager.find('7-original')).toMatchObject({ status: 'queued', retryAt: 9_000 });
    expect(timers.at(-1)?.ms).toBe(4_000);
    advance(4_000);
    timers.at(-1)!.run();
    expect(backend.started).toHaveLength(2);
  });

  it('a failure is kept with its reason until retried', async () => {
    const { backend, manager } = setup();
    await manager.ready;
    manager.add(film);
    backend.started[0]!.events.failed('cannot reach the server');
    expect(manager.find('7-original')).toMatchObject({ status: 'failed', error: 'cannot reach the server' });
    manager.add(film); // the Download button again: a retry
    expect(backend.started).toHaveLength(2);
  });

  it('restores the saved list and goes on with what was running', async () => {
    const { backend, manager } = setup();
    await manager.ready;
    manager.add(film);
    await manager.flushed();
    const again = setup(backend.saved);
    const states: string[] = [];
    again.manager.subscribe((s) => states.push(s.downloads[0]!.status));
    await again.manager.ready;
    expect(again.backend.started).toHaveLength(1);
    expect(states).toEqual(['queued', 'downloading']);
  });
});

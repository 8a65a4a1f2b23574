/**
 * The download manager: holds the state (./state.ts), runs what it decides through a
 * platform backend (IndexedDB on web, expo-file-system on native), saves the list after each
 * change and tells subscribers. One download runs at a time (the server's encoders are shared);
 * one that met a busy server waits out its Retry-After in the queue.
 */
import {
  downloadsReducer,
  initialDownloads,
  nextToStart,
  nextWakeAt,
  type Accepted,
  type Download,
  type DownloadEvent,
  type DownloadsState,
  type NewDownload,
} from './state';

/** What a running transfer reports. Nothing is reported after `pause` or `cancel` resolve. */
export interface TransferEvents {
  response(accepted: Accepted): void;
  /** Bytes stored so far (what a pause keeps). */
  progress(bytes: number): void;
  done(bytes: number): void;
  failed(reason: string): void;
}

export interface Transfer {
  /** Stop and keep what arrived; resolves with the bytes kept. */
  pause(): Promise<number>;
  /** Stop; the caller removes the bytes. */
  cancel(): Promise<void>;
}

/** Where the bytes go and how they come: one per platform. */
export interface DownloadBackend {
  load(): Promise<Download[]>;
  save(downloads: Download[]): Promise<void>;
  start(download: Download, events: TransferEvents): Transfer;
  /** Drop a download's bytes. */
  remove(id: string): Promise<void>;
  /** A URL the player opens with no network (a blob: URL on web, a file: URI on native). */
  source(download: Download): Promise<string>;
}

export interface ManagerOptions {
  now?: () => number;
  setTimer?: (run: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
  maxActive?: number;
}

type Listener = (state: DownloadsState) => void;

export class DownloadManager {
  private current: DownloadsState = initialDownloads;
  private readonly listeners = new Set<Listener>();
  private readonly running = new Map<string, Transfer>();
  private timer: unknown = null;
  private readonly now: () => number;
  private readonly setTimer: (run: () => void, ms: number) => unknown;
  private readonly clearTimer: (timer: unknown) => void;
  private readonly maxActive: number;
  private saving: Promise<void> = Promise.resolve();
  readonly ready: Promise<void>;

  constructor(
    private readonly backend: DownloadBackend,
    options: ManagerOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.setTimer = options.setTimer ?? ((run, ms) => setTimeout(run, ms));
    this.clearTimer = options.clearTimer ?? ((t) => clearTimeout(t as ReturnType<typeof setTimeout>));
    this.maxActive = options.maxActive ?? 1;
    this.ready = backend
      .load()
      .catch(() => [] as Download[])
      .then((downloads) => this.dispatch({ type: 'restore', downloads }));
  }

  get state(): DownloadsState {
    return this.current;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  find(id: string): Download | undefined {
    return this.current.downloads.find((d) => d.id === id);
  }

  add(download: NewDownload): void {
    this.dispatch({ type: 'add', download, now: this.now() });
  }

  async pause(id: string): Promise<void> {
    this.dispatch({ type: 'pause', id });
    const transfer = this.running.get(id);
    if (!transfer) return;
    this.running.delete(id);
    const kept = await transfer.pause();
    this.dispatch({ type: 'progress', id, bytes: kept });
  }

  resume(id: string): void {
    this.dispatch({ type: 'resume', id });
  }

  /** Cancel a running or queued download, or delete a finished one: its bytes go too. */
  async remove(id: string): Promise<void> {
    const transfer = this.running.get(id);
    this.running.delete(id);
    this.dispatch({ type: 'remove', id });
    if (transfer) await transfer.cancel();
    await this.backend.remove(id);
  }

  source(id: string): Promise<string> {
    const d = this.find(id);
    if (!d || d.status !== 'done') return Promise.reject(new Error('Not downloaded'));
    return this.backend.source(d);
  }

  /** Saves still in flight (tests wait on them). */
  flushed(): Promise<void> {
    return this.saving;
  }

  private dispatch(event: DownloadEvent): void {
    const next = downloadsReducer(this.current, event);
    if (next === this.current) return;
    this.current = next;
    const snapshot = next.downloads;
    this.saving = this.saving.then(() => this.backend.save(snapshot)).catch(() => undefined);
    for (const listener of this.listeners) listener(next);
    this.schedule();
  }

  private schedule(): void {
    const now = this.now();
    const next = nextToStart(this.current, now, this.maxActive);
    if (next) {
      this.startTransfer(next);
      return;
    }
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
    const wake = nextWakeAt(this.current, now);
    if (wake !== null) {
      this.timer = this.setTimer(() => {
        this.timer = null;
        this.schedule();
      }, wake - now);
    }
  }

  private startTransfer(download: Download): void {
    const id = download.id;
    this.dispatch({ type: 'started', id });
    const started = this.find(id);
    if (!started || started.status !== 'downloading') return;
    let transfer: Transfer | null = null;
    const live = () => transfer !== null && this.running.get(id) === transfer;
    const finish = () => {
      if (this.running.get(id) === transfer) this.running.delete(id);
    };
    const events: TransferEvents = {
      response: (accepted) => {
        if (!live()) return;
        if (accepted.kind === 'busy') {
          finish();
          this.dispatch({ type: 'busy', id, retryAfterS: accepted.retryAfterS, now: this.now() });
        } else if (accepted.kind === 'fail') {
          finish();
          this.dispatch({ type: 'failed', id, reason: accepted.reason });
        } else {
          this.dispatch({ type: 'response', id, response: accepted });
        }
      },
      progress: (bytes) => {
        if (live()) this.dispatch({ type: 'progress', id, bytes });
      },
      done: (bytes) => {
        if (!live()) return;
        finish();
        this.dispatch({ type: 'done', id, bytes, now: this.now() });
      },
      failed: (reason) => {
        if (!live()) return;
        finish();
        this.dispatch({ type: 'failed', id, reason });
      },
    };
    // The backend may report synchronously: register the transfer before it can.
    const placeholder: Transfer = { pause: async () => started.bytes, cancel: async () => undefined };
    transfer = placeholder;
    this.running.set(id, placeholder);
    const real = this.backend.start(started, events);
    if (this.running.get(id) === placeholder) {
      transfer = real;
      this.running.set(id, real);
    }
  }
}

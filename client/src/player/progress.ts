/**
 * When to tell the server where playback is: every `PROGRESS_INTERVAL_MS` while playing, at
 * once on pause, after a seek, and at exit. Pure decisions plus a small reporter that sends
 * through an injected function, so the policy is tested with a fake clock.
 */

export const PROGRESS_INTERVAL_MS = 10_000;

export interface Report {
  positionUs: number;
  paused: boolean;
}

export type Send = (report: Report, final: boolean) => Promise<void>;

export class ProgressReporter {
  private lastAt: number | null = null;
  private last: Report | null = null;
  private inFlight = false;

  constructor(
    private readonly send: Send,
    private readonly now: () => number = Date.now,
    private readonly intervalMs: number = PROGRESS_INTERVAL_MS,
  ) {}

  /** Called on every time update: reports when the interval has passed while playing. */
  tick(positionUs: number, playing: boolean): void {
    if (!playing) return;
    const t = this.now();
    if (this.lastAt !== null && t - this.lastAt < this.intervalMs) return;
    this.emit({ positionUs, paused: false }, false);
  }

  /** A pause, a seek or a track change: report now unless the same was just sent. */
  report(positionUs: number, paused: boolean): void {
    const report = { positionUs: Math.round(positionUs), paused };
    if (this.last && this.last.paused === paused && this.last.positionUs === report.positionUs) return;
    this.emit(report, false);
  }

  /** Leaving the player: the last position, always sent; settles once the server has it. */
  final(positionUs: number): Promise<void> {
    return this.emit({ positionUs, paused: true }, true);
  }

  private emit(report: Report, final: boolean): Promise<void> {
    const r = { positionUs: Math.max(0, Math.round(report.positionUs)), paused: report.paused };
    this.lastAt = this.now();
    this.last = r;
    if (this.inFlight && !final && !r.paused) return Promise.resolve(); // a slow server gets no pile of ticks
    this.inFlight = true;
    return this.send(r, final)
      .catch(() => undefined) // progress is best effort; the next report corrects it
      .finally(() => {
        this.inFlight = false;
      });
  }
}

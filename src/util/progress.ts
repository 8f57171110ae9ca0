// A progress line with rate and ETA for long work (featurizing, training, evaluation).
// Writes to stderr, redraws in place on a terminal, prints a line every few seconds otherwise.

export interface ProgressOptions {
  label: string;
  total: number;
  unit?: string;
  /** Where to write; defaults to process.stderr. Pass null to stay silent. */
  stream?: NodeJS.WriteStream | null;
  /** Work bounded by time rather than by items (a training budget): the percentage and ETA follow the clock. */
  timeBudget?: { seconds: number; used: () => number };
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

export class Progress {
  private done = 0;
  private readonly start = performance.now();
  private lastDraw = 0;
  private drawnDone = -1;
  private readonly stream: NodeJS.WriteStream | null;
  private readonly tty: boolean;

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream === undefined ? process.stderr : opts.stream;
    this.tty = Boolean(this.stream?.isTTY);
  }

  /** Adds `n` finished items; `extra` is appended to the line (for example a running loss). */
  tick(n = 1, extra = ''): void {
    this.done += n;
    const now = performance.now();
    if (now - this.lastDraw >= (this.tty ? 100 : 5000) || this.done >= this.opts.total) {
      this.lastDraw = now;
      this.draw(extra);
    }
  }

  /** Items per second so far. */
  rate(): number {
    return this.done / Math.max(1e-9, (performance.now() - this.start) / 1000);
  }

  elapsedSeconds(): number {
    return (performance.now() - this.start) / 1000;
  }

  finish(extra = ''): void {
    if (this.drawnDone !== this.done || extra) this.draw(extra);
    if (this.tty) this.stream?.write('\n');
  }

  private draw(extra: string): void {
    this.drawnDone = this.done;
    if (!this.stream) return;
    const { label, total, unit = 'it' } = this.opts;
    const rate = this.rate();
    const budget = this.opts.timeBudget, used = budget ? Math.min(budget.seconds, budget.used()) : 0;
    const pct = budget ? ((100 * used) / budget.seconds).toFixed(1) : total > 0 ? ((100 * this.done) / total).toFixed(1) : '?';
    const eta = formatDuration(budget ? Math.min(budget.seconds - used, (total - this.done) / rate) : (total - this.done) / rate);
    const count = budget ? `${this.done} ${unit} (${pct}% of ${formatDuration(budget.seconds)})` : `${this.done}/${total} (${pct}%)`;
    const line = `${label} ${count} ${rate.toFixed(1)} ${unit}/s elapsed ${formatDuration(this.elapsedSeconds())} ETA ${eta}${extra ? ' ' + extra : ''}`;
    this.stream.write(this.tty ? `\r\x1b[K${line}` : line + '\n');
  }
}

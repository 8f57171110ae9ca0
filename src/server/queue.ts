// A bounded work queue for the model routes: at most `concurrency` jobs run, at most `maxQueued`
// wait; past that a request is refused at once (the server answers 503 with Retry-After) instead of
// piling up closures, request bodies and tensors until memory runs out. A job that waited longer than
// `maxWaitMs` is dropped before it starts (its client has been answered 503 already).

export class QueueFullError extends Error {
  constructor(readonly reason: 'full' | 'waited', readonly retryAfterSeconds: number) {
    super(reason === 'full' ? 'the server is busy: too many requests are waiting' : 'the server is busy: the request waited too long');
    this.name = 'QueueFullError';
  }
}

export interface QueueOptions {
  concurrency: number;
  maxQueued: number;
  /** longest wait before a job starts; 0 or Infinity = no limit */
  maxWaitMs: number;
}

interface Waiting { start(): void; drop(err: Error): void; timer?: NodeJS.Timeout }

export class WorkQueue {
  private running = 0;
  private readonly waiting: Waiting[] = [];
  /** counters since start (for /healthz and the load note) */
  readonly stats = { started: 0, rejected: 0, expired: 0, maxQueuedSeen: 0 };
  private avgMs = 100;

  constructor(readonly options: QueueOptions) {
    if (!(options.concurrency >= 1) || !(options.maxQueued >= 0)) throw new RangeError('concurrency must be >= 1 and maxQueued >= 0');
  }

  get active(): number { return this.running; }
  get queued(): number { return this.waiting.length; }

  /** Seconds a client refused now should wait: the expected time to drain the queue, at least 1. */
  retryAfter(): number {
    return Math.max(1, Math.ceil(((this.waiting.length + this.running) * this.avgMs) / this.options.concurrency / 1000));
  }

  run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running < this.options.concurrency) {
      // reserve the slot now, start on the next turn of the event loop: the model's calls are mostly
      // synchronous, and a job started inside the I/O phase would block it before the other requests
      // already received were seen, so they would wait in the kernel, unbounded, instead of queueing
      // here (bounded) or being refused at once
      this.running++;
      return new Promise<void>((r) => setImmediate(r)).then(() => this.exec(job, true));
    }
    if (this.waiting.length >= this.options.maxQueued) {
      this.stats.rejected++;
      return Promise.reject(new QueueFullError('full', this.retryAfter()));
    }
    return new Promise<T>((resolve, reject) => {
      const w: Waiting = {
        start: () => { this.exec(job, true).then(resolve, reject); },
        drop: reject,
      };
      const wait = this.options.maxWaitMs;
      if (wait > 0 && Number.isFinite(wait)) {
        w.timer = setTimeout(() => {
          const i = this.waiting.indexOf(w);
          if (i >= 0) {
            this.waiting.splice(i, 1);
            this.stats.expired++;
            reject(new QueueFullError('waited', this.retryAfter()));
          }
        }, wait);
        w.timer.unref();
      }
      this.waiting.push(w);
      this.stats.maxQueuedSeen = Math.max(this.stats.maxQueuedSeen, this.waiting.length);
    });
  }

  private async exec<T>(job: () => Promise<T>, reserved = false): Promise<T> {
    if (!reserved) this.running++;
    this.stats.started++;
    const t0 = performance.now();
    try {
      return await job();
    } finally {
      this.avgMs = 0.8 * this.avgMs + 0.2 * (performance.now() - t0);
      this.running--;
      this.next();
    }
  }

  private next(): void {
    while (this.running < this.options.concurrency && this.waiting.length) {
      const w = this.waiting.shift()!;
      if (w.timer) clearTimeout(w.timer);
      // the slot is reserved now; the job starts on a later tick so that the previous job's reply is
      // written before a synchronous model call blocks the event loop again
      this.running++;
      setImmediate(() => w.start());
    }
  }

  /** Refuses every waiting job (shutdown). */
  drain(err: Error): void {
    for (const w of this.waiting.splice(0)) { if (w.timer) clearTimeout(w.timer); w.drop(err); }
  }
}

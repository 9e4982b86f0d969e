// What the status page shows, as one JSON snapshot, and its live feed (server-sent events): the
// snapshot is rebuilt every second and sent to each open page only when it changed. Message rates
// are sampled from the archive (ids only) into a bounded series for the sparkline.
import type { ServerResponse } from 'node:http';
import type { Contact } from '../bridge/contract.js';
import type { StatusJson } from '../daemon/status.js';
import type { LogEntry, LogRing } from './log-ring.js';

export interface RateSample {
  /** End of the interval (ms since the epoch). */
  t: number;
  in: number;
  out: number;
}

export interface Snapshot {
  fingerprint: string | null;
  share: string | null;
  jid: string;
  ports: { c2s: number | null; peer: number | null; websocket: number | null };
  tor: StatusJson['tor'];
  queued: number;
  online: number;
  contacts: Array<Pick<Contact, 'id' | 'name' | 'state' | 'online' | 'address'>>;
  log: LogEntry[];
  rates: { intervalMs: number; samples: RateSample[] };
}

export interface EventSources {
  status(): StatusJson;
  contacts(): Contact[];
  log?: LogRing;
  /** Messages recorded since the last call (in, out); undefined: no archive to count. */
  countMessages?(): { in: number; out: number };
}

const TICK_MS = 1_000;
export const RATE_INTERVAL_MS = 10_000;
/** 10 minutes of 10-second samples. */
const MAX_SAMPLES = 60;
const LOG_LINES = 60;
const MAX_CLIENTS = 16;
/** A page that reads nothing while this much is queued for it is cut (SSE has no backpressure of its own). */
const MAX_PENDING_BYTES = 1024 * 1024;

export class StatusFeed {
  private readonly clients = new Set<ServerResponse>();
  private readonly samples: RateSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private rateTimer: NodeJS.Timeout | undefined;
  private last = '';

  constructor(private readonly src: EventSources) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
    if (this.src.countMessages) {
      this.rateTimer = setInterval(() => this.sampleRates(), RATE_INTERVAL_MS);
      this.rateTimer.unref();
    }
  }

  stop(): void {
    clearInterval(this.timer);
    clearInterval(this.rateTimer);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  snapshot(): Snapshot {
    const s = this.src.status();
    return {
      fingerprint: s.fingerprint,
      share: s.share,
      jid: s.jid,
      ports: { c2s: s.c2sPort, peer: s.peerPort, websocket: s.websocketPort },
      tor: s.tor,
      queued: s.queued,
      online: s.online,
      contacts: this.src.contacts().map((c) => ({
        id: c.id,
        name: c.name,
        state: c.state,
        online: c.online,
        ...(c.address !== undefined && { address: c.address }),
      })),
      log: this.src.log?.tail(LOG_LINES) ?? [],
      rates: { intervalMs: RATE_INTERVAL_MS, samples: [...this.samples] },
    };
  }

  /** Takes an SSE response: the current snapshot at once, then every change. Returns false when full. */
  subscribe(res: ServerResponse): boolean {
    if (this.clients.size >= MAX_CLIENTS) return false;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
    res.write(`retry: 2000\ndata: ${JSON.stringify(this.snapshot())}\n\n`);
    return true;
  }

  /** Re-sends now (after an accept or deny, so the page does not wait for the next tick). */
  tick(): void {
    if (this.clients.size === 0) return;
    const text = JSON.stringify(this.snapshot());
    if (text === this.last) return;
    this.last = text;
    for (const res of this.clients) {
      if (res.writableLength > MAX_PENDING_BYTES) {
        res.destroy();
        continue;
      }
      res.write(`data: ${text}\n\n`);
    }
  }

  private sampleRates(): void {
    const n = this.src.countMessages!();
    this.samples.push({ t: Date.now(), in: n.in, out: n.out });
    if (this.samples.length > MAX_SAMPLES) this.samples.shift();
  }
}

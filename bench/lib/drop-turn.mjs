// The manager's own share of a drop, alone: 1 000 peers' PeerLinks whose links all end in ONE turn, on stand-in
// links (no sockets, no TLS), with down hooks as the manager has them (a pino line at info into /dev/null, an
// event). Prints, as the median of 5 cycles after a warm-up, the time of that turn and of the longest later turn
// until every down came (the paced downs, the settle timer's turn).
// node bench/lib/drop-turn.mjs [pending]   (pending: a replacement is on its way, so every peer settles first)
// BENCH_BUILD picks the compiled tree, as for the benchmarks: run it against the base build and this one.
import { built } from './common.mjs';

const { PeerLinks } = await built('bridge-protocol/peers/peer-links.js');
const settleMod = await built('bridge-protocol/peers/settle-deadlines.js').catch(() => undefined);
const { TypedEmitter } = await built('bridge-protocol/events.js');
const { pino } = await import('pino');
const N = 1000;
const pending = process.argv[2] === 'pending';
const SETTLE_MS = 200;
const log = pino({ level: 'info' }, pino.destination('/dev/null'));

class StandIn extends TypedEmitter {
  constructor(fp) {
    super();
    this.fingerprint = fp;
    this.side = 'server';
    this.protocol = 'gateway/3';
    this.gatewayPeer = true;
    this.establishedAt = Date.now();
    this.isOpen = true;
  }
  start() {}
  beforeAck() {}
  takeUnfinished() {
    return [];
  }
  end() {
    this.isOpen = false;
    this.emit('close', { reason: 'remote' });
  }
}

const settles = settleMod && new settleMod.SettleDeadlines({ delayMs: SETTLE_MS });
const events = new TypedEmitter();
let down = 0;
events.on('link-down', () => down++);
const peers = [];
for (let i = 0; i < N; i++) {
  const fp = i.toString(16).padStart(64, '0');
  const p = new PeerLinks(
    // Both shapes of the options: the base build reads settleMs, this one settles.
    { self: 'f'.repeat(64), fingerprint: fp, log, switchTimeoutMs: 5000, settleMs: SETTLE_MS, settles },
    {
      up: () => {},
      down: (info) => {
        log.info({ peer: fp.slice(0, 12), reason: info.reason }, 'peer offline');
        events.emit('link-down', { fingerprint: fp, reason: info.reason });
      },
      message: () => {},
      replacementPending: () => pending,
      idle: () => {},
    },
  );
  peers.push({ fp, p });
}

/** One cycle: every peer gets a link, then all links end in one turn; the turns after it are timed until every down came. */
async function cycle() {
  const links = peers.map(({ fp, p }) => {
    const l = new StandIn(fp);
    p.add(l);
    return l;
  });
  await new Promise((r) => setTimeout(r, 20));
  const before = down;
  const t0 = performance.now();
  for (const l of links) l.end();
  const dropTurnMs = performance.now() - t0;
  // Each gap of a setImmediate chain is one turn's work: the paced downs, the settle timer's turn.
  let longest = 0;
  let turns = 0;
  let last = performance.now();
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
      turns++;
      if (down - before < N) setImmediate(tick);
      else resolve();
    };
    setImmediate(tick);
  });
  return { dropTurnMs, longestLaterTurnMs: longest, turns };
}

const CYCLES = 6;
const runs = [];
for (let c = 0; c < CYCLES; c++) runs.push(await cycle());
// The first cycle warms the JIT (and pino): left out.
const med = (k) => runs.slice(1).map((r) => r[k]).sort((a, b) => a - b)[Math.floor((CYCLES - 1) / 2)];
console.log(JSON.stringify({ pending, dropTurnMs: +med('dropTurnMs').toFixed(2), longestLaterTurnMs: +med('longestLaterTurnMs').toFixed(2), downs: down, cycles: CYCLES - 1 }));

// lazyChild: the per-peer and per-link loggers of bridge-protocol are made on their first written line, so
// 100 000 quiet links cost no pino children; what is written is the same as with pino's own child().
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { lazyChild, silentLogger, type Logger } from '../../bridge-protocol/logger.js';

function captured(level = 'info'): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: pino({ level }, sink), lines };
}

/** Counts the real children made from a pino logger. */
function counting(log: pino.Logger): { log: Logger; made: () => number } {
  let made = 0;
  const wrapped = Object.create(log) as pino.Logger;
  wrapped.child = (b: pino.Bindings) => (made++, log.child(b));
  return { log: wrapped, made: () => made };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('lazyChild', () => {
  it('makes no child for lines below the level, and writes lines at the level with the bindings, nested ones too', async () => {
    const { log, lines } = captured('info');
    const c = counting(log);
    const peer = lazyChild(c.log, { peer: 'abc' });
    const link = lazyChild(peer, { link: 'in' });
    link.debug({ x: 1 }, 'not written');
    peer.trace({}, 'not written either');
    expect(c.made()).toBe(0);
    link.warn({ x: 2 }, 'written');
    peer.info({}, 'also written');
    await flush();
    expect(c.made()).toBe(1); // the peer's child; the link's is made from it
    expect(lines.map((l) => [l.msg, l.peer, l.link, l.x])).toEqual([
      ['written', 'abc', 'in', 2],
      ['also written', 'abc', undefined, undefined],
    ]);
  });

  it('is the silent logger itself under the silent logger', () => {
    expect(lazyChild(silentLogger, { peer: 'abc' })).toBe(silentLogger);
  });

  it('writes every level when the parent cannot say which are enabled', () => {
    const got: string[] = [];
    const plain: Logger = {
      trace: () => got.push('parent'),
      debug: () => got.push('parent'),
      info: () => got.push('parent'),
      warn: () => got.push('parent'),
      error: () => got.push('parent'),
      child: (b) => ({ ...plain, debug: (_o: object, m: string) => got.push(`${String(b.peer)} ${m}`) }),
    };
    lazyChild(plain, { peer: 'p1' }).debug({}, 'hello');
    expect(got).toEqual(['p1 hello']);
  });
});

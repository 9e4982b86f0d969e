// startGateway in process: status of a live gateway, reload of what can change without a restart, a
// clean stop, and a busy peer port named with its key.
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfigText, type Config } from '../../gateway/config.js';
import { startGateway } from '../../gateway/daemon.js';
import { ListenError } from '../../gateway/daemon/listen-errors.js';
import { removeTmpDirs, tmpDir } from '../support/identities.js';
import { closeServer, listenLocal } from '../support/net.js';

afterAll(removeTmpDirs);

// tor.mode "off": no tor from this test ("auto" is the default).
const FREE = '[c2s]\nport = 0\n[peer]\nport = 0\n[websocket]\nport = 0\n[tor]\nmode = "off"\n';

function capture(): { log: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      out.push(String(chunk));
      cb();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines: () => out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}

describe('startGateway', () => {
  it('runs, reports its real ports, reloads the log level (naming what needs a restart), and stops leaving nothing behind', async () => {
    const dataDir = tmpDir();
    const { log, lines } = capture();
    let next: Config = parseConfigText('[c2s]\nport = 0\n[websocket]\nport = 0\n[peer]\nport = 0\nunknown_policy = "reject"\n[tor]\nmode = "off"\n[log]\nlevel = "debug"\n');
    const gw = await startGateway({ config: parseConfigText(FREE), dataDir, log, reloadConfig: async () => next });
    try {
      const s = gw.status();
      expect(s).toMatchObject({ running: true, pid: process.pid, jid: 'me@localhost', online: 0, queued: 0, dataDir });
      expect(s.c2sPort).toBe(gw.server.c2sPort);
      expect(s.peerPort).toBeGreaterThan(0);
      expect(s.share).toBe(`tlsim://${s.fingerprint}@127.0.0.1:${s.peerPort}`);
      expect(gw.identityCreated).toBe(true);
      expect(lines().some((l) => l.c2s === s.c2sPort && l.peer === s.peerPort && /gateway started/.test(String(l.msg)))).toBe(true);

      await gw.reload();
      expect(log.level).toBe('debug');
      expect(lines().find((l) => /reloaded/.test(String(l.msg)))).toMatchObject({ unknownPolicy: 'reject' });
      expect(lines().some((l) => /only at the next start/.test(String(l.msg)))).toBe(false);
      next = parseConfigText(`${FREE}[account]\nuser = "other"\n`);
      await gw.reload();
      expect(lines().find((l) => /only at the next start/.test(String(l.msg)))).toMatchObject({ keys: ['account.user'] });
    } finally {
      await gw.stop();
    }
    for (const f of ['gateway.pid', 'runtime.json', 'control.sock']) expect(existsSync(join(dataDir, f)), f).toBe(false);
  });

  it('a busy peer port fails naming peer.port and --peer-port, and releases the lock', async () => {
    const dataDir = tmpDir();
    const busy = createServer();
    const port = await listenLocal(busy);
    try {
      const config = parseConfigText(`[c2s]\nport = 0\n[websocket]\nport = 0\n[peer]\nport = ${port}\n[tor]\nmode = "off"\n`);
      const err = await startGateway({ config, dataDir, log: pino({ level: 'silent' }) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ListenError);
      expect((err as ListenError).key).toBe('peer.port');
      expect((err as Error).message).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}.*already in use.*--peer-port`));
      expect(existsSync(join(dataDir, 'gateway.pid'))).toBe(false);
    } finally {
      await closeServer(busy);
    }
  });
});

// The control socket: one JSON request, one answer; bad, oversized and silent clients are cut, never the server.
import { statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { ControlUnavailableError, controlRequest } from '../../gateway/control/client.js';
import { MAX_REQUEST_BYTES, controlSocketPath, type ControlRequest } from '../../gateway/control/protocol.js';
import { startControlServer } from '../../gateway/control/server.js';
import { silentLogger } from '../../gateway/xmpp/log.js';
import { removeTmpDirs, tmpDir } from '../support/identities.js';

afterAll(removeTmpDirs);

function rawExchange(path: string, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    let out = '';
    s.on('connect', () => s.write(data));
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('close', () => resolve(out));
    s.on('error', reject);
  });
}

describe('control socket', () => {
  it('answers requests, turns handler errors into answers, and refuses junk', async () => {
    const dir = tmpDir();
    const seen: ControlRequest[] = [];
    const server = await startControlServer({
      path: controlSocketPath(dir),
      log: silentLogger(),
      async handle(req) {
        seen.push(req);
        if (req.op === 'command' && req.line === 'boom') throw new Error('exploded');
        return { ok: true, text: req.op === 'command' ? `ran ${req.line}` : req.op };
      },
    });
    try {
      expect(statSync(server.path).mode & 0o777).toBe(0o600);
      expect(await controlRequest(dir, { op: 'command', line: 'list' })).toEqual({ ok: true, text: 'ran list' });
      expect(await controlRequest(dir, { op: 'command', line: 'boom' })).toEqual({ ok: false, error: 'exploded' });
      expect(JSON.parse(await rawExchange(server.path, '{"op":"nope"}\n'))).toEqual({ ok: false, error: 'not a control request' });
      expect(JSON.parse(await rawExchange(server.path, 'not json\n')).ok).toBe(false);
      const big = await rawExchange(server.path, 'x'.repeat(MAX_REQUEST_BYTES + 10));
      expect(JSON.parse(big)).toEqual({ ok: false, error: 'request too large' });
      expect(seen).toHaveLength(2);
    } finally {
      await server.close();
    }
    await expect(controlRequest(dir, { op: 'status' })).rejects.toBeInstanceOf(ControlUnavailableError);
  });

  it('the client gives up on a gateway that never answers', async () => {
    const dir = tmpDir();
    const server = await startControlServer({
      path: controlSocketPath(dir),
      log: silentLogger(),
      handle: () => new Promise(() => {}),
    });
    try {
      await expect(controlRequest(dir, { op: 'status' }, { timeoutMs: 300 })).rejects.toThrow(/did not answer/);
    } finally {
      await server.close();
    }
  });
});

// TorControl against a scripted control port: FIFO, events between replies, timeouts, close, auth checks and no secrets in logs (control-spec §2–3).
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { TimeoutError } from '../../bridge-protocol/errors.js';
import type { Logger } from '../../bridge-protocol/logger.js';
import { authenticate, hashPassword } from '../../bridge-protocol/tor/control-auth.js';
import { TorControlError, TorError, type TorEvent } from '../../bridge-protocol/tor/control-parse.js';
import { TorControl } from '../../bridge-protocol/tor/control.js';
import { onCrlfLines } from '../support/net.js';

type Script = (line: string, write: (s: string) => void, sock: net.Socket) => void;

const servers: net.Server[] = [];
const controls: TorControl[] = [];
let dir = '';

async function fakeTor(script: Script, logger?: Logger): Promise<TorControl> {
  const server = net.createServer((sock) => {
    sock.on('error', () => {});
    onCrlfLines(sock, (line) => script(line, (s) => sock.write(s), sock));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  const c = await TorControl.connect({ host: '127.0.0.1', port }, { commandTimeoutMs: 2_000, ...(logger ? { logger } : {}) });
  controls.push(c);
  return c;
}

function recordingLogger(lines: string[]): Logger {
  const rec = (obj: object, msg: string) => void lines.push(JSON.stringify(obj) + ' ' + msg);
  const l: Logger = { trace: rec, debug: rec, info: rec, warn: rec, error: rec, child: () => l };
  return l;
}

afterEach(() => {
  for (const c of controls.splice(0)) c.destroy();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('TorControl', () => {
  it('answers pipelined commands in order and dispatches an event that arrives between replies', async () => {
    const c = await fakeTor((line, write) => {
      if (line === 'GETINFO version') write('650 STATUS_CLIENT NOTICE CIRCUIT_ESTABLISHED\r\n250-version=0.4.9.11\r\n250 OK\r\n');
      else if (line === 'GETINFO config-text') write('250+config-text=\r\nLog notice stdout\r\n..dot\r\n.\r\n250 OK\r\n');
      else write('510 Unrecognized command "FOO"\r\n');
    });
    const events: TorEvent[] = [];
    c.on('event', (e: TorEvent) => events.push(e));
    const [version, config, bad] = await Promise.allSettled([c.getInfoOne('version'), c.getInfoOne('config-text'), c.command('FOO')]);
    expect(version).toEqual({ status: 'fulfilled', value: '0.4.9.11' });
    expect(config).toEqual({ status: 'fulfilled', value: 'Log notice stdout\n.dot' });
    expect(bad.status).toBe('rejected');
    const err = (bad as PromiseRejectedResult).reason as TorControlError;
    expect(err).toBeInstanceOf(TorControlError);
    expect(err.code).toBe(510);
    expect(events.map((e) => [e.type, e.body])).toEqual([['STATUS_CLIENT', 'NOTICE CIRCUIT_ESTABLISHED']]);
  });

  it('times out one command, drops its late reply, and keeps the next one right', async () => {
    const pending: string[] = [];
    const c = await fakeTor((line, write) => {
      pending.push(line);
      if (line === 'GETINFO b') {
        write('250-a=late\r\n250 OK\r\n250-b=2\r\n250 OK\r\n');
      }
    });
    const slow = c.command('GETINFO a', { timeoutMs: 100 });
    await expect(slow).rejects.toBeInstanceOf(TimeoutError);
    expect(await c.getInfoOne('b')).toBe('2');
  });

  it('rejects everything pending when tor closes the connection, and later commands at once', async () => {
    const c = await fakeTor((line, _write, sock) => {
      if (line === 'GETINFO b') sock.destroy();
    });
    const closed = new Promise<Error | undefined>((r) => c.once('close', r));
    const a = c.command('GETINFO a');
    const b = c.command('GETINFO b');
    await expect(a).rejects.toMatchObject({ reason: 'closed' });
    await expect(b).rejects.toBeInstanceOf(TorError);
    expect(await closed).toBeInstanceOf(TorError);
    expect(c.closed).toBe(true);
    await expect(c.command('GETINFO c')).rejects.toMatchObject({ reason: 'closed' });
  });

  it('closes on a line over the limit instead of buffering forever', async () => {
    const server = await fakeTor((_l, write) => write('250-' + 'x'.repeat(70 * 1024)));
    await expect(server.command('GETINFO x')).rejects.toThrow(/over 65536 bytes/);
  });

  it('refuses arguments that would smuggle in a second command', async () => {
    const c = await fakeTor(() => {});
    await expect(c.setConf({ Nickname: 'a\r\nSIGNAL HALT' })).rejects.toThrow(RangeError);
    await expect(c.getInfo(['a b'])).rejects.toThrow(RangeError);
    expect(() => c.command('GETINFO x\r\nQUIT')).toThrow(RangeError);
  });
});

describe('authentication', () => {
  it('SAFECOOKIE: verifies SERVERHASH, answers with the client HMAC, logs no secret', async () => {
    dir = dir || (await mkdtemp(join(tmpdir(), 'tlsim-torauth-')));
    const cookie = randomBytes(32);
    const cookieFile = join(dir, 'cookie "quoted"');
    await writeFile(cookieFile, cookie);
    const serverNonce = randomBytes(32);
    let authenticated = '';
    let clientHmac = '';
    const logs: string[] = [];
    const c = await fakeTor((line, write) => {
      if (line === 'PROTOCOLINFO 1') {
        const escaped = cookieFile.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
        write(`250-PROTOCOLINFO 1\r\n250-AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE="${escaped}"\r\n250-VERSION Tor="0.4.9.11"\r\n250 OK\r\n`);
      } else if (line.startsWith('AUTHCHALLENGE SAFECOOKIE ')) {
        const clientNonce = Buffer.from(line.split(' ')[2]!, 'hex');
        const msg = Buffer.concat([cookie, clientNonce, serverNonce]);
        const sh = createHmac('sha256', 'Tor safe cookie authentication server-to-controller hash').update(msg).digest('hex');
        clientHmac = createHmac('sha256', 'Tor safe cookie authentication controller-to-server hash').update(msg).digest('hex');
        write(`250 AUTHCHALLENGE SERVERHASH=${sh} SERVERNONCE=${serverNonce.toString('hex')}\r\n`);
      } else if (line.startsWith('AUTHENTICATE ')) {
        authenticated = line.slice(13);
        write('250 OK\r\n');
      }
    }, recordingLogger(logs));
    expect(await authenticate(c)).toBe('SAFECOOKIE');
    expect(authenticated).toBe(clientHmac);
    expect(logs.length).toBeGreaterThan(0);
    const all = logs.join('\n');
    for (const secret of [cookie.toString('hex'), clientHmac]) expect(all).not.toContain(secret);
  });

  it('SAFECOOKIE: a forged SERVERHASH (not our tor) is refused before we authenticate', async () => {
    dir = dir || (await mkdtemp(join(tmpdir(), 'tlsim-torauth-')));
    const cookieFile = join(dir, 'cookie2');
    await writeFile(cookieFile, randomBytes(32));
    let sentAuth = false;
    const c = await fakeTor((line, write) => {
      if (line === 'PROTOCOLINFO 1') write(`250-AUTH METHODS=SAFECOOKIE COOKIEFILE="${cookieFile}"\r\n250 OK\r\n`);
      else if (line.startsWith('AUTHCHALLENGE')) write(`250 AUTHCHALLENGE SERVERHASH=${'00'.repeat(32)} SERVERNONCE=${'11'.repeat(32)}\r\n`);
      else if (line.startsWith('AUTHENTICATE')) sentAuth = true;
    });
    await expect(authenticate(c)).rejects.toMatchObject({ reason: 'auth', message: expect.stringMatching(/SERVERHASH/) });
    expect(sentAuth).toBe(false);
  });

  it('refuses a cookie file that is not exactly 32 bytes, and says when a password is needed', async () => {
    dir = dir || (await mkdtemp(join(tmpdir(), 'tlsim-torauth-')));
    const cookieFile = join(dir, 'cookie3');
    await writeFile(cookieFile, randomBytes(33));
    const c = await fakeTor((line, write) => {
      if (line === 'PROTOCOLINFO 1') write(`250-AUTH METHODS=COOKIE COOKIEFILE="${cookieFile}"\r\n250 OK\r\n`);
    });
    await expect(authenticate(c)).rejects.toThrow(/not 32 bytes/);
    const d = await fakeTor((line, write) => {
      if (line === 'PROTOCOLINFO 1') write('250-AUTH METHODS=HASHEDPASSWORD\r\n250 OK\r\n');
    });
    await expect(authenticate(d)).rejects.toThrow(/password file/);
  });

  it('hashes a password exactly as `tor --hash-password` does (S2K, SHA-1, 65536 bytes)', () => {
    // From tor 0.4.9.11: tor --quiet --hash-password 'pa"ss\word'
    const fromTor = '16:2B7DB430BCC389D26053E5A2CDD9B416670970B50B7F61DF693BA65EC8';
    const salt = Buffer.from(fromTor.slice(3, 19), 'hex');
    expect(hashPassword('pa"ss\\word', salt)).toBe(fromTor);
    expect(hashPassword('x')).toMatch(/^16:[0-9A-F]{16}60[0-9A-F]{40}$/);
  });
});

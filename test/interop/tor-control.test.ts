// Our control client against a real tor (Debian 0.4.9, DisableNetwork 1: never the public network): auth methods, ADD_ONION with our key, data blocks, events, error codes.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { authenticate, hashPassword, type ControlAuthOptions } from '../../bridge-protocol/tor/control-auth.js';
import { TorControlError, type TorEvent } from '../../bridge-protocol/tor/control-parse.js';
import { TorControl } from '../../bridge-protocol/tor/control.js';
import { addOnionKeyBlob, loadOrCreateOnionKey } from '../../bridge-protocol/tor/onion-key.js';
import { spawnProc, type Proc } from '../support/proc.js';
import { interopSuite } from '../support/tools.js';

interopSuite('tor control port', ['tor'], () => {
  let dir = '';
  let tor: Proc;
  let port = 0;
  const open: TorControl[] = [];
  // One password hashed by tor itself, one by our S2K: tor accepts either (HashedControlPassword repeats).
  const torPassword = 'from tor "quoted" \\ backslash';
  const ourPassword = 'from our S2K';

  async function connect(): Promise<TorControl> {
    const c = await TorControl.connect({ host: '127.0.0.1', port }, { commandTimeoutMs: 10_000 });
    open.push(c);
    return c;
  }
  async function authed(opts: ControlAuthOptions = {}): Promise<TorControl> {
    const c = await connect();
    await authenticate(c, opts);
    return c;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tlsim-torctl-'));
    const dd = join(dir, 'data');
    const hashed = await spawnProc('tor', ['--quiet', '--hash-password', torPassword], { stdin: 'ignore' });
    const torHash = (await hashed.waitFor(/16:[0-9A-F]+/, 10_000, { stream: 'stdout' })).trim();
    await hashed.exited;
    tor = await spawnProc(
      'tor',
      [
        '--ignore-missing-torrc', '-f', join(dir, 'torrc'),
        '--DataDirectory', dd,
        '--DisableNetwork', '1', // TESTING.md: no DirAuthority lines here, so never any network
        '--SocksPort', '0',
        '--ControlPort', '127.0.0.1:auto',
        '--ControlPortWriteToFile', join(dir, 'control-port'),
        '--ControlSocket', join(dir, 'control'), // as Debian's system tor offers it (/run/tor/control)
        '--CookieAuthentication', '1',
        '--HashedControlPassword', torHash,
        '--HashedControlPassword', hashPassword(ourPassword),
        '--__OwningControllerProcess', String(process.pid),
        '--Log', 'notice stdout',
      ],
      { stdin: 'ignore' },
    );
    const deadline = Date.now() + 30_000;
    while (port === 0) {
      const m = /PORT=127\.0\.0\.1:(\d+)/.exec(await readFile(join(dir, 'control-port'), 'utf8').catch(() => ''));
      if (m) port = Number(m[1]);
      else if (Date.now() > deadline || tor.exitInfo) throw new Error(`tor wrote no control port${tor.tails()}`);
      else await new Promise((r) => setTimeout(r, 50));
    }
  });

  afterAll(async () => {
    for (const c of open) c.destroy();
    await tor?.kill();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('authenticates with the cookie file by SAFECOOKIE, and by plain COOKIE when asked', async () => {
    const a = await connect();
    expect(await authenticate(a)).toBe('SAFECOOKIE');
    expect(await a.getInfoOne('version')).toMatch(/^0\.4\./);
    const b = await connect();
    expect(await authenticate(b, { prefer: ['COOKIE'] })).toBe('COOKIE');
    expect(await b.getInfoOne('status/bootstrap-phase')).toContain('BOOTSTRAP');
  });

  it('connects over a Unix control socket too', async () => {
    const c = await TorControl.connect({ path: join(dir, 'control') });
    open.push(c);
    expect(await authenticate(c)).toBe('SAFECOOKIE');
    expect(await c.getInfoOne('version')).toMatch(/^0\.4\./);
  });

  it("authenticates with a password hashed by tor, or by our S2K, read from a file", async () => {
    const c = await connect();
    expect(await authenticate(c, { password: torPassword, prefer: ['HASHEDPASSWORD'] })).toBe('HASHEDPASSWORD');
    const pwFile = join(dir, 'password');
    await writeFile(pwFile, ourPassword + '\n', { mode: 0o600 });
    const d = await connect();
    expect(await authenticate(d, { passwordFile: pwFile, prefer: ['HASHEDPASSWORD'] })).toBe('HASHEDPASSWORD');
    expect((await d.bootstrapStatus()).progress).toBe(0);
  });

  it('a wrong password gets 515 and tor closes the connection', async () => {
    const c = await connect();
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    const err = await authenticate(c, { password: 'wrong', prefer: ['HASHEDPASSWORD'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TorControlError);
    expect((err as TorControlError).code).toBe(515);
    await closed;
    expect(c.closed).toBe(true);
  });

  it('ADD_ONION with our stored key gives our offline-derived address, again after DEL_ONION', async () => {
    const key = await loadOrCreateOnionKey(join(dir, 'onion', 'key.pem'));
    const c = await authed();
    const add = () => c.addOnion({ key: addOnionKeyBlob(key), ports: [{ virt: 18765, target: '127.0.0.1:9' }] });
    const first = await add();
    expect(first).toEqual({ serviceId: key.serviceId }); // no PrivateKey line: the key is ours
    await expect(add()).rejects.toMatchObject({ code: 550 }); // "Onion address collision"
    await c.delOnion(first.serviceId);
    const reloaded = await loadOrCreateOnionKey(join(dir, 'onion', 'key.pem'));
    expect((await c.addOnion({ key: addOnionKeyBlob(reloaded), ports: [{ virt: 1, target: '9' }] })).serviceId).toBe(key.serviceId);
    await c.delOnion(key.serviceId);
  });

  it('reads data blocks: onions/current with two services, config-text', async () => {
    const c = await authed();
    const a = await c.addOnion({ key: 'NEW', ports: [{ virt: 80, target: '127.0.0.1:9' }] });
    expect(a.privateKey).toMatch(/^ED25519-V3:[A-Za-z0-9+/]{86}==$/);
    const b = await c.addOnion({ key: 'NEW', flags: ['DiscardPK'], ports: [{ virt: 81, target: '127.0.0.1:9' }] });
    expect(b.privateKey).toBeUndefined();
    const info = await c.getInfo(['onions/current', 'config-text', 'version']);
    expect(info.get('onions/current')!.split('\n').sort()).toEqual([a.serviceId, b.serviceId].sort());
    expect(info.get('config-text')).toMatch(/^DisableNetwork 1$/m);
    expect(info.get('version')).toMatch(/^0\.4\./);
    const conf = await c.getConf(['DisableNetwork', 'CookieAuthentication', 'ControlSocket', 'Nickname']);
    expect(conf.get('DisableNetwork')).toEqual(['1']);
    expect(conf.get('CookieAuthentication')).toEqual(['1']);
    expect(conf.get('ControlSocket')).toEqual([join(dir, 'control')]);
    expect(conf.get('Nickname')).toEqual([]); // unset: a bare key
  });

  it('delivers an event that tor sends while a GETINFO is pending, and the FIFO stays right', async () => {
    const c = await authed();
    let infoDone = false;
    const seen: string[] = [];
    c.on('event', (e: TorEvent) => {
      seen.push(`${e.type} ${e.lines.slice(1, -1).map((l) => l.text).join(',')} while GETINFO ${infoDone ? 'done' : 'pending'}`);
    });
    await c.setEvents(['CONF_CHANGED']);
    // Pipelined: on the wire SETCONF's reply, tor's CONF_CHANGED (a 650 reply), then GETINFO's reply.
    const set = c.setConf({ Nickname: 'tlsimtest' });
    const get = c.getInfoOne('config-text').finally(() => (infoDone = true));
    await set;
    expect(/Nickname (\w+)/.exec(await get)?.[1]).toBe('tlsimtest');
    expect(seen).toEqual(['CONF_CHANGED Nickname=tlsimtest while GETINFO pending']);
    await c.resetConf(['Nickname']);
    await c.setEvents([]);
  });

  it("carries tor's error codes: 510 unknown command, 552 unknown key/option, 512 bad arguments", async () => {
    const c = await authed();
    const code = (p: Promise<unknown>) => p.then(() => 0, (e: TorControlError) => e.code);
    expect(await code(c.command('FOO'))).toBe(510);
    expect(await code(c.getInfo(['no/such/key']))).toBe(552);
    expect(await code(c.setConf({ NoSuchOption: '1' }))).toBe(552);
    expect(await code(c.command('ADD_ONION NEW:ED25519-V3'))).toBe(512);
    expect(await code(c.delOnion('notanonion'))).toBe(512);
    const err = await c.command('FOO').catch((e: TorControlError) => e);
    expect(err).toMatchObject({ command: 'FOO', message: expect.stringContaining('510 Unrecognized command') });
    expect(await c.getInfoOne('version')).toMatch(/^0\.4\./); // errors leave the connection usable
  });
});

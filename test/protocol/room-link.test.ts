// The room link's limits against a real TLS room over TCP (what a stuck or refusing fp2alias does): the alias question
// answered alone, a room that never lets us in cut after the join timeout and redialed with backoff, a refusal final.
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { RoomLink, createTlsContext, directDialer, generateIdentity, silentLogger, type Identity, type RoomDown } from '../../bridge-protocol/index.js';

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** A TLS room requiring a client certificate; `onMember` plays fp2alias and tlsd-chat.sh. */
async function room(id: Identity, onMember: (s: TLSSocket) => void): Promise<number> {
  server = createServer({ key: id.keyPem, cert: id.certPem, requestCert: true, rejectUnauthorized: false }, onMember);
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

function linkTo(roomId: Identity, me: Identity, port: number, joinTimeoutMs = 20_000) {
  return new RoomLink({
    fingerprint: roomId.fingerprint, address: { host: '127.0.0.1', port }, dialer: directDialer(), tls: createTlsContext(me),
    alias: 'me', joinTimeoutMs, backoff: { initialMs: 200, maxMs: 400 }, log: silentLogger,
  });
}

const nextDown = (l: RoomLink) => new Promise<RoomDown>((r) => l.once('down', r));

describe('room link', () => {
  it('answers the alias question with the alias alone, then takes the first join line as ours', async () => {
    const [roomId, me] = await Promise.all([generateIdentity(), generateIdentity()]);
    const got: string[] = [];
    const port = await room(roomId, (s) => {
      s.write('Enter your alias, please.\n');
      s.on('data', (d) => {
        got.push(String(d));
        s.write('10:00 * me[42] joins\n10:00 alice[7]: hi\n');
      });
    });
    const l = linkTo(roomId, me, port);
    const joined = new Promise((r) => l.once('joined', r));
    const line = new Promise((r) => l.once('line', r));
    l.start();
    expect(await joined).toEqual({ name: 'me[42]', alias: 'me', asked: true });
    expect(await line).toMatchObject({ kind: 'message', name: 'alice[7]', text: 'hi' });
    expect(got).toEqual(['me\n']);
    await l.close();
  }, 30_000);

  it('a room that never lets us in is cut after the join timeout and dialed again', async () => {
    const [roomId, me] = await Promise.all([generateIdentity(), generateIdentity()]);
    let members = 0;
    const port = await room(roomId, () => void members++);
    const l = linkTo(roomId, me, port, 500);
    const down = nextDown(l);
    l.start();
    const d = await down;
    expect(d.reason).toMatch(/did not let us in within 1 s/);
    expect(d.retryInMs).toBeGreaterThan(0);
    expect(d.wasJoined).toBe(false);
    await nextDown(l);
    expect(members).toBeGreaterThanOrEqual(2);
    await l.close();
  }, 30_000);

  it('a taken alias ends the join with the room\'s words, and is not retried', async () => {
    const [roomId, me] = await Promise.all([generateIdentity(), generateIdentity()]);
    let members = 0;
    const port = await room(roomId, (s) => {
      members++;
      s.write('Enter your alias, please.\n');
      s.once('data', () => s.end("The 'me' alias is taken already."));
    });
    const l = linkTo(roomId, me, port);
    const down = nextDown(l);
    l.start();
    const d = await down;
    expect(d).toEqual({ reason: "the room refused us: The 'me' alias is taken already.", wasJoined: false });
    expect(l.state).toBe('closed');
    await new Promise((r) => setTimeout(r, 600));
    expect(members).toBe(1);
  }, 30_000);
});

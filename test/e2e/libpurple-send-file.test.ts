// End to end: Pidgin's Send File… through the gateway, driven with libpurple inside bitlbee (an IRC client's DCC
// SEND becomes libpurple's file transfer: XEP-0096 stream initiation, the bytes by XEP-0047 in band). The contact
// is a reference peer (gnutls-serv): it gets one line saying a file was offered, never the bytes; the Pidgin user
// is told why by the gateway contact. To a user of another gateway (slixmpp) the file arrives, bit-exact.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { expect, it } from 'vitest';
import { makeOpensslIdentity, tmpDir } from '../support/identities.js';
import { closeServer, listenLocal } from '../support/net.js';
import { interopSuite } from '../support/tools.js';
import { purpleSuite, type PurpleSuite } from './support/purple-suite.js';
import { startInProcessGateway } from './support/gateway.js';
import { gnutlsServ } from './support/reference-peer.js';
import { bare, gatewayCommand, slixUser } from './support/slixmpp-users.js';

const T = 120_000;

/** A DCC SEND sender (the IRC client's side): serves `bytes` to the first connection, reads its acknowledgements. */
async function dccSender(bytes: Buffer): Promise<{ port: number; done: Promise<void>; close(): Promise<void> }> {
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const server = createServer((s: Socket) => {
    s.on('error', () => {});
    let acked = 0;
    s.on('data', (ack: Buffer) => {
      // DCC: the receiver acknowledges the bytes it has as 32-bit big-endian totals.
      if (ack.length >= 4) acked = ack.readUInt32BE(ack.length - 4 - (ack.length % 4));
      if (acked >= bytes.length) {
        resolveDone();
        s.end();
      }
    });
    s.end(bytes);
    s.on('close', resolveDone);
  });
  const port = await listenLocal(server);
  return { port, done, close: () => closeServer(server) };
}

interopSuite('e2e: Pidgin Send File (libpurple in bitlbee) through the gateway', ['bitlbee', 'gnutls-serv', 'slixmpp', 'aiohttp'], () => {
  let s: PurpleSuite;
  const suite = purpleSuite((x) => (s = x), { web: true });

  it('the peer gets one line about the file, never its bytes; the Pidgin user is told', async (ctx) => {
    suite.onFailure(ctx);
    const { gw, user } = s;
    const id = await makeOpensslIdentity(tmpDir('rex'));
    const rex = await gnutlsServ(id);
    await user.command(`add tlsim://${id.fingerprint}@127.0.0.1:${rex.port} Rex`, /^Added /);
    const nick = await user.irc.waitForContact(gw.jidOf(id.fingerprint), 30_000);
    const bytes = Buffer.from('bytes that must never become a line\n'.repeat(50));
    const dcc = await dccSender(bytes);
    try {
      const from = user.mark();
      // 127.0.0.1 as DCC writes addresses: one 32-bit number.
      await user.irc.send(`PRIVMSG ${nick} :\x01DCC SEND notes.txt ${0x7f000001} ${dcc.port} ${bytes.length}\x01`);
      const told = await user.waitPrivmsg(user.gatewayNick, /notes\.txt/, 60_000, from);
      expect(told).toMatch(/was not sent: Rex is a plain tlsim peer, which can receive text only/);
      await expect.poll(() => [...rex.proc.output().matchAll(/^received cmd: (.*)$/gm)].map((m) => m[1]!.trim()), { timeout: 20_000 }).toEqual([
        `[a file was offered here: "notes.txt", ${(bytes.length / 1024).toFixed(1)} KiB; tlsim carries text only, so it was not sent]`,
      ]);
      expect(rex.proc.output()).not.toContain('must never become');
    } finally {
      await dcc.close();
    }
  }, T);

  it('to a user of another gateway the file arrives as that gateway\'s URL, bit-exact', async (ctx) => {
    suite.onFailure(ctx);
    const { gw, user } = s;
    const other = await startInProcessGateway({ web: true, policy: 'accept' });
    const bob = await slixUser(other);
    try {
      await user.command(`add tlsim://${other.fingerprint}@127.0.0.1:${other.peerPort} Bob`, /^Added /);
      const nick = await user.irc.waitForContact(gw.jidOf(other.fingerprint), 30_000);
      await gatewayCommand(bob, `add tlsim://${gw.fingerprint}@127.0.0.1:${gw.peerPort} Pidgin user`, /^(Added|Updated) /);
      const bytes = randomBytes(300_000);
      const dcc = await dccSender(bytes);
      try {
        const from = bob.mark();
        await user.irc.send(`PRIVMSG ${nick} :\x01DCC SEND photo.jpg ${0x7f000001} ${dcc.port} ${bytes.length}\x01`);
        const got = await bob.nextMessage((m) => bare(m.from) === other.jidOf(gw.fingerprint) && m.body.startsWith('https://'), 90_000, from);
        expect(got.body).toMatch(/\/photo\.jpg$/);
        expect(got.oob_url).toBe(got.body);
        expect(await bob.download(got.body)).toMatchObject({ status: 200, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
      } finally {
        await dcc.close();
      }
    } finally {
      await bob.stop();
      await other.stop();
    }
  }, T);
});

// End to end: Pidgin receives a file. A user of another gateway (slixmpp) uploads a file (XEP-0363) and sends
// it; the Pidgin user's gateway, seeing that libpurple takes files by stream initiation and not by jabber:x:oob,
// offers it as an XEP-0096 transfer from the contact. libpurple inside bitlbee accepts it and takes the bytes in
// band (XEP-0047); bitlbee hands them on to its IRC client as a DCC SEND, which this test reads, bit-exact.
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { parseIrc } from '../../clients/bitlbee/driver.js';
import { tmpDir } from '../support/identities.js';
import { interopSuite } from '../support/tools.js';
import { startInProcessGateway } from './support/gateway.js';
import { purpleSuite, type PurpleSuite } from './support/purple-suite.js';
import { gatewayCommand, slixUser } from './support/slixmpp-users.js';

const T = 150_000;
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface DccOffer {
  nick: string;
  name: string;
  host: string;
  port: number;
  size: number;
}

/** `PRIVMSG me :\x01DCC SEND name ip port size\x01`, as bitlbee offers a file to its IRC client. */
function dccOffer(line: string, me: string): DccOffer | undefined {
  const p = parseIrc(line);
  if (p.command !== 'PRIVMSG' || p.params[0] !== me) return undefined;
  const m = /^\x01DCC SEND (?:"([^"]+)"|(\S+)) (\d+) (\d+) (\d+)\x01$/.exec(p.params[1] ?? '');
  if (!m) return undefined;
  const ip = Number(m[3]);
  const host = [24, 16, 8, 0].map((s) => (ip >>> s) & 0xff).join('.');
  return { nick: p.nick ?? '', name: m[1] ?? m[2]!, host, port: Number(m[4]), size: Number(m[5]) };
}

/** The IRC client's side of DCC SEND: connects, reads `size` bytes, acknowledges each chunk's running total. */
function dccReceive(offer: DccOffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const s = connect(offer.port, offer.host);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`DCC: ${got} of ${offer.size} bytes in ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('data', (b: Buffer) => {
      chunks.push(b);
      got += b.length;
      const ack = Buffer.alloc(4);
      ack.writeUInt32BE(got >>> 0);
      s.write(ack);
      if (got >= offer.size) s.end();
    });
    s.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

interopSuite('e2e: Pidgin receives a file (libpurple in bitlbee) offered by the gateway', ['bitlbee', 'slixmpp', 'aiohttp'], () => {
  let s: PurpleSuite;
  const suite = purpleSuite((x) => (s = x), { web: true });

  it('a file from a user of another gateway arrives in Pidgin bit-exact, offered by the contact', async (ctx) => {
    suite.onFailure(ctx);
    const { gw, user } = s;
    const other = await startInProcessGateway({ web: true, policy: 'accept' });
    const bob = await slixUser(other);
    try {
      await user.command(`add tlsim://${other.fingerprint}@127.0.0.1:${other.peerPort} Bob`, /^Added /);
      const nick = await user.irc.waitForContact(gw.jidOf(other.fingerprint), 30_000);
      await gatewayCommand(bob, `add tlsim://${gw.fingerprint}@127.0.0.1:${gw.peerPort} Pidgin user`, /^(Added|Updated) /);
      await expect.poll(() => user.irc.isOnline(nick), { timeout: 60_000, interval: 500 }).toBe(true);
      // Bob's gateway knows the contact as a gateway (receipts in disco) before a file can go to it as a file.
      const toPidgin = other.jidOf(gw.fingerprint);
      await expect.poll(async () => (await bob.discoInfo(`${toPidgin}/tlsim`)).features, { timeout: 60_000, interval: 300 }).toContain('urn:xmpp:receipts');

      const bytes = randomBytes(200_000);
      const file = join(tmpDir('tlsim-pidgin-recv'), 'report.pdf');
      await writeFile(file, bytes);
      const url = (await bob.upload(file, 'application/pdf', T)).url;
      const from = user.mark();
      await bob.send(toPidgin, url, { oob_url: url });

      // libpurple accepted the XEP-0096 offer; bitlbee offers what it receives to its IRC client over DCC.
      const line = await user.irc.waitForLine((l) => dccOffer(l, user.irc.nick) !== undefined, 90_000, from);
      const offer = dccOffer(line, user.irc.nick)!;
      expect(offer).toMatchObject({ nick, name: 'report.pdf', size: bytes.length });
      const got = await dccReceive(offer, 90_000);
      expect({ size: got.length, sha256: sha256(got) }).toEqual({ size: bytes.length, sha256: sha256(bytes) });
      // The URL message came too (a user who declines the transfer still has the link).
      await user.waitPrivmsg(nick, /^https:\/\/\S+\/report\.pdf$/, 30_000, from);
      // And chat goes on through the same contact.
      await bob.send(toPidgin, 'got the report?');
      await user.waitPrivmsg(nick, /^got the report\?$/, 30_000, from);
    } finally {
      await bob.stop();
      await other.stop();
    }
  }, T);
});

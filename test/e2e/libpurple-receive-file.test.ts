// End to end: Pidgin receives a file. A user of another gateway (slixmpp) uploads a file (XEP-0363) and sends
// it; the Pidgin user's gateway, seeing that libpurple takes files by stream initiation and not by jabber:x:oob,
// offers it as an XEP-0096 transfer from the contact. libpurple inside bitlbee accepts it and takes the bytes in
// band (XEP-0047); bitlbee hands them on to its IRC client as a DCC SEND, which this test reads, bit-exact.
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SlixmppClient } from '../../clients/slixmpp/driver.js';
import { parseIrc } from '../../clients/bitlbee/driver.js';
import { tmpDir } from '../support/identities.js';
import { waitUntil } from '../support/proc.js';
import { interopSuite } from '../support/tools.js';
import { keptForUser, startInProcessGateway, type E2eGateway } from './support/gateway.js';
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
  let other: E2eGateway | undefined;
  let bob: SlixmppClient | undefined;
  let nick: string;
  let toPidgin: string;

  // After the suite's gateway and Pidgin user (hooks run in order): Bob on another gateway, each the other's contact.
  beforeAll(async () => {
    const { gw, user } = s;
    other = await startInProcessGateway({ web: true, policy: 'accept' });
    bob = await slixUser(other);
    await user.command(`add tlsim://${other.fingerprint}@127.0.0.1:${other.peerPort} Bob`, /^Added /);
    nick = await user.irc.waitForContact(gw.jidOf(other.fingerprint), 30_000);
    await gatewayCommand(bob, `add tlsim://${gw.fingerprint}@127.0.0.1:${gw.peerPort} Pidgin user`, /^(Added|Updated) /);
    await waitUntil(() => user.irc.isOnline(nick), 60_000);
    // Bob's gateway knows the contact as a gateway (receipts in disco) before a file can go to it as a file.
    toPidgin = other.jidOf(gw.fingerprint);
    await waitUntil(async () => (await bob!.discoInfo(`${toPidgin}/tlsim`)).features.includes('urn:xmpp:receipts'), 60_000);
  }, T);

  afterAll(async () => {
    await bob?.stop();
    await other?.stop();
  });

  /** Bob uploads `bytes` as `name` and sends its URL; resolves once it has gone. */
  async function bobSends(name: string, bytes: Buffer): Promise<void> {
    const file = join(tmpDir('tlsim-pidgin-recv'), name);
    await writeFile(file, bytes);
    const url = (await bob!.upload(file, 'application/pdf', T)).url;
    await bob!.send(toPidgin, url, { oob_url: url });
  }

  /** The file as Pidgin got it: libpurple accepted the XEP-0096 offer, bitlbee offers it to its IRC client by DCC. */
  async function pidginReceives(name: string, bytes: Buffer, from: number): Promise<void> {
    const { user } = s;
    const line = await user.irc.waitForLine((l) => dccOffer(l, user.irc.nick) !== undefined, 90_000, from);
    const offer = dccOffer(line, user.irc.nick)!;
    expect(offer).toMatchObject({ nick, name, size: bytes.length });
    const got = await dccReceive(offer, 90_000);
    expect({ size: got.length, sha256: sha256(got) }).toEqual({ size: bytes.length, sha256: sha256(bytes) });
    // The URL message came too (a user who declines the transfer still has the link).
    await user.waitPrivmsg(nick, new RegExp(`^https://\\S+/${name.replace('.', '\\.')}$`), 30_000, from);
  }

  it('a file from a user of another gateway arrives in Pidgin bit-exact, offered by the contact', async (ctx) => {
    suite.onFailure(ctx);
    const { user } = s;
    const bytes = randomBytes(200_000);
    const from = user.mark();
    await bobSends('report.pdf', bytes);
    await pidginReceives('report.pdf', bytes, from);
    // And chat goes on through the same contact.
    await bob!.send(toPidgin, 'got the report?');
    await user.waitPrivmsg(nick, /^got the report\?$/, 30_000, from);
  }, T);

  it('a file sent while Pidgin was closed is offered when it comes back (from the offline box)', async (ctx) => {
    suite.onFailure(ctx);
    const { user, observer } = s;
    // The account's other client steps aside (a negative priority gets no chat messages, RFC 6121 §8.5.2.1.1),
    // so the file waits in the offline box while Pidgin is off.
    await observer.presence({}, -1);
    const seen = observer.mark();
    await user.irc.command('account jabber off');
    await observer.waitFor((el) => el.name === 'presence' && el.attrs.type === 'unavailable' && (el.attrs.from ?? '').startsWith(`${s.gw.userJid}/`), 30_000, seen);
    const bytes = randomBytes(50_000);
    await bobSends('minutes.pdf', bytes);
    await expect.poll(() => keptForUser(s.gw), { timeout: 30_000, interval: 300 }).toBe(1);
    const from = user.mark();
    await user.irc.command('account jabber on');
    await pidginReceives('minutes.pdf', bytes, from);
  }, T);
});

// End to end: a file from a user of another gateway reaches a client that takes files the way Pidgin does
// (slixmpp with its xep_0095/xep_0096/xep_0047 plugins and no jabber:x:oob in its disco#info) as an XEP-0096 offer
// from the contact, the bytes in band, bit-exact; the same user's other client, which advertises XEP-0066 (as
// Conversations, Gajim, Dino do), gets the URL message only. Both get the URL message.
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SlixmppClient } from '../../clients/slixmpp/driver.js';
import { removeTmpDirs, tmpDir } from '../support/identities.js';
import { killAll } from '../support/proc.js';
import { interopSuite } from '../support/tools.js';
import { startInProcessGateway, type E2eGateway } from './support/gateway.js';
import { bare, gatewayCommand, seesOnline, slixUser } from './support/slixmpp-users.js';

const T = 120_000;
const W = 60_000;
const sha256 = (b: Buffer, enc: 'hex' | 'base64' = 'hex'): string => createHash('sha256').update(b).digest(enc);

interopSuite('e2e: a file from a gateway peer offered to a Pidgin-like client by stream initiation and IBB', ['slixmpp', 'aiohttp'], () => {
  let gwA: E2eGateway;
  let gwB: E2eGateway;
  let alice: SlixmppClient;
  let pidginLike: SlixmppClient;
  let oobClient: SlixmppClient;
  let jidA: string;
  let jidB: string;
  const dir = tmpDir('tlsim-si-offer');
  const inbox = tmpDir('tlsim-si-inbox');

  beforeAll(async () => {
    gwA = await startInProcessGateway({ web: true, policy: 'accept' });
    gwB = await startInProcessGateway({ web: true, policy: 'accept' });
    alice = await slixUser(gwA);
    // Two clients of B's user: one as libpurple (SI, IBB, no OOB), one as Conversations (OOB).
    pidginLike = await slixUser(gwB, { oob: false, si_receive: { dir: inbox, answer: 'accept' } });
    oobClient = await slixUser(gwB, { si_receive: { dir: inbox, answer: 'accept' } });
    jidA = gwB.jidOf(gwA.fingerprint);
    jidB = gwA.jidOf(gwB.fingerprint);
    const from = alice.mark();
    await gatewayCommand(pidginLike, `add tlsim://${gwA.fingerprint}@127.0.0.1:${gwA.peerPort} Alice`, /^(Added|Updated) /);
    await gatewayCommand(alice, `add tlsim://${gwB.fingerprint}@127.0.0.1:${gwB.peerPort} Bob`, /^(Added|Updated) /);
    await seesOnline(alice, jidB, from);
  }, T);

  afterAll(async () => {
    await alice?.stop();
    await pidginLike?.stop();
    await oobClient?.stop();
    await gwA?.stop();
    await gwB?.stop();
    await killAll();
    removeTmpDirs();
  });

  it('1 MiB arrives bit-exact through the SI/IBB offer; the OOB client gets the URL and no offer', async (ctx) => {
    ctx.onTestFailed(() => {
      console.error(`--- B ---\n${gwB.log.tail(40)}`);
      console.error(`--- pidgin-like ---\n${pidginLike.recent(20)}\n--- oob ---\n${oobClient.recent(20)}`);
    });
    // The link told A that B is a gateway (what a file needs).
    await expect.poll(async () => (await alice.discoInfo(`${jidB}/tlsim`)).features, { timeout: W, interval: 300 }).toContain('urn:xmpp:receipts');
    const bytes = randomBytes(1024 * 1024);
    const file = join(dir, 'holiday.jpg');
    await writeFile(file, bytes);
    const url = (await alice.upload(file, 'image/jpeg', T)).url;
    const [p, o] = [pidginLike.mark(), oobClient.mark()];
    await alice.send(jidB, url, { oob_url: url });
    // Both clients get the message with B's URL, as today.
    const isFile = (m: { from: string; body: string }) => bare(m.from) === jidA && m.body.startsWith('https://');
    const msg = await pidginLike.nextMessage(isFile, W, p);
    expect((await oobClient.nextMessage(isFile, W, o)).body).toBe(msg.body);
    // The Pidgin-like one gets a file transfer request from Alice, with name, size and hash, and takes it in band.
    const offer = await pidginLike.waitForEvent((e) => e.event === 'si_offer', W, p);
    expect(offer).toMatchObject({ from: `${jidA}/tlsim`, name: 'holiday.jpg', size: bytes.length, hash: sha256(bytes, 'base64'), mime_type: 'image/jpeg' });
    const got = await pidginLike.waitForEvent((e) => e.event === 'si_received', T, p);
    expect(got).toMatchObject({ size: bytes.length, sha256: sha256(bytes) });
    expect((await readFile(join(inbox, 'holiday.jpg'))).equals(bytes)).toBe(true);
    // The OOB client was offered nothing (its disco#info names jabber:x:oob): the URL is its way to the file.
    await oobClient.ping();
    expect(oobClient.events.slice(o).filter((e) => e.event === 'si_offer')).toEqual([]);
    const down = await oobClient.download(msg.body);
    expect(down).toMatchObject({ status: 200, size: bytes.length, sha256: sha256(bytes) });
    // Chat went on meanwhile and after: the transfer held nothing up.
    await alice.send(jidB, 'did you get it?');
    await pidginLike.nextMessage((m) => bare(m.from) === jidA && m.body === 'did you get it?', W, p);
  }, T);
});

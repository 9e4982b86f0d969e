// End to end: files from an XEP-0363 upload (slixmpp) to a contact. To a user of another gateway the file goes
// over the link (chunked, hash-checked, resumed after the link is cut, chat going ahead of it) and arrives as a
// message whose body and OOB URL are the other gateway's own, downloaded bit-exact. To a reference peer
// (gnutls-serv) only one plain line goes, never the bytes or the URL, and the user is told why.
import { createHash, randomBytes } from 'node:crypto';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SlixmppClient } from '../../clients/slixmpp/driver.js';
import { makeOpensslIdentity, removeTmpDirs, tmpDir } from '../support/identities.js';
import { killAll } from '../support/proc.js';
import { tcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { interopSuite } from '../support/tools.js';
import { startInProcessGateway, type E2eGateway } from './support/gateway.js';
import { gnutlsServ, type ListeningPeer } from './support/reference-peer.js';
import { bare, seesOnline, gatewayCommand, slixUser } from './support/slixmpp-users.js';

const T = 240_000;
const W = 60_000;
const MIB = 1024 * 1024;
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interopSuite('e2e: files between two gateways over the link, and to a reference peer', ['slixmpp', 'aiohttp', 'gnutls-serv'], () => {
  let gwA: E2eGateway;
  let gwB: E2eGateway;
  let alice: SlixmppClient;
  let bob: SlixmppClient;
  let toA: TcpProxy;
  let toB: TcpProxy;
  let rex: ListeningPeer | undefined;
  let jidA: string;
  let jidB: string;
  const dir = tmpDir('tlsim-files-e2e');

  beforeAll(async () => {
    gwA = await startInProcessGateway({ web: true, policy: 'accept' });
    gwB = await startInProcessGateway({ web: true, policy: 'accept' });
    // Every link between them goes through a relay this test can cut, at 10 MB/s a direction.
    toA = await tcpProxy(gwA.peerPort, { bytesPerSecond: 10_000_000 });
    toB = await tcpProxy(gwB.peerPort, { bytesPerSecond: 10_000_000 });
    alice = await slixUser(gwA);
    bob = await slixUser(gwB);
    jidA = gwB.jidOf(gwA.fingerprint);
    jidB = gwA.jidOf(gwB.fingerprint);
    const from = alice.mark();
    await gatewayCommand(bob, `add tlsim://${gwA.fingerprint}@127.0.0.1:${toA.port} Alice`, /^(Added|Updated) /);
    await gatewayCommand(alice, `add tlsim://${gwB.fingerprint}@127.0.0.1:${toB.port} Bob`, /^(Added|Updated) /);
    await seesOnline(alice, jidB, from);
  }, T);

  afterAll(async () => {
    await alice?.stop();
    await bob?.stop();
    await gwA?.stop();
    await gwB?.stop();
    await toA?.close();
    await toB?.close();
    await killAll();
    removeTmpDirs();
  });

  const showOnFailure = (ctx: { onTestFailed(fn: () => void): void }): void =>
    ctx.onTestFailed(() => {
      console.error(`--- A ---\n${gwA.log.tail(30)}\n--- B ---\n${gwB.log.tail(30)}`);
      console.error(`--- alice ---\n${alice.recent(20)}\n--- bob ---\n${bob.recent(20)}`);
      if (rex) console.error(`--- gnutls-serv ---${rex.proc.tails(3_000)}`);
    });

  async function upload(c: SlixmppClient, name: string, bytes: Buffer): Promise<string> {
    const file = join(dir, name);
    await writeFile(file, bytes);
    return (await c.upload(file, 'application/octet-stream', T)).url;
  }

  it('a file uploaded on A reaches B\'s user as B\'s own URL, with OOB, bit-exact', async (ctx) => {
    showOnFailure(ctx);
    // The link told A that B is a gateway (what a file needs).
    await expect.poll(async () => (await alice.discoInfo(`${jidB}/tlsim`)).features, { timeout: W, interval: 300 }).toContain('urn:xmpp:receipts');
    const bytes = randomBytes(700_000);
    const url = await upload(alice, 'report.pdf', bytes);
    const from = bob.mark();
    await alice.send(jidB, url, { oob_url: url });
    const got = await bob.nextMessage((m) => bare(m.from) === jidA && m.body.startsWith('https://'), W, from);
    // B's gateway's URL, not A's (which B could not reach anyway).
    expect(new URL(got.body).port).toBe(String(gwB.running.web!.port));
    expect(got.body).toMatch(/\/report\.pdf$/);
    expect(got.oob_url).toBe(got.body);
    const down = await bob.download(got.body);
    expect(down).toMatchObject({ status: 200, size: bytes.length, sha256: sha256(bytes) });
    // Both histories (XEP-0313) have it: A's user's sent URL, B's user's received one.
    const sent = (await alice.mam({ with: jidB })).pages.flatMap((p) => p.results);
    expect(sent.map((r) => r.body)).toContain(url);
    const received = (await bob.mam({ with: jidA })).pages.flatMap((p) => p.results);
    expect(received.map((r) => r.body)).toContain(got.body);
  }, T);

  it('Pidgin\'s way (XEP-0096 stream initiation, XEP-0047 in-band bytes, slixmpp\'s plugins) reaches B bit-exact too', async (ctx) => {
    showOnFailure(ctx);
    // What libpurple looks for before it offers Send File… for a contact.
    const features = (await alice.discoInfo(`${jidB}/tlsim`)).features;
    expect(features).toEqual(expect.arrayContaining(['http://jabber.org/protocol/si', 'http://jabber.org/protocol/si/profile/file-transfer', 'http://jabber.org/protocol/ibb']));
    const bytes = randomBytes(150_000);
    const file = join(dir, 'from pidgin.bin');
    await writeFile(file, bytes);
    const from = bob.mark();
    expect((await alice.siSend(`${jidB}/tlsim`, file)).method).toBe('http://jabber.org/protocol/ibb');
    const got = await bob.nextMessage((m) => bare(m.from) === jidA && m.body.startsWith('https://'), W, from);
    expect(got.body).toMatch(/\/from%20pidgin\.bin$/);
    expect(await bob.download(got.body)).toMatchObject({ status: 200, size: bytes.length, sha256: sha256(bytes) });
  }, T);

  it('a 50 MiB file resumes after the link is cut halfway, and chat sent meanwhile arrives before it', async (ctx) => {
    showOnFailure(ctx);
    const size = 50 * MIB;
    const bytes = randomBytes(size);
    const url = await upload(alice, 'video.mkv', bytes);
    const from = bob.mark();
    await alice.send(jidB, url, { oob_url: url });
    // Halfway: B's gateway has half the bytes on disk.
    const uploadsB = join(gwB.dataDir, 'uploads');
    const partSize = async (): Promise<number> => {
      const parts = (await readdir(uploadsB)).filter((f) => f.endsWith('.part'));
      return parts.length === 1 ? (await stat(join(uploadsB, parts[0]!))).size : 0;
    };
    await expect.poll(partSize, { timeout: W, interval: 50 }).toBeGreaterThanOrEqual(size / 2);
    const atCut = await partSize();
    expect(atCut).toBeLessThan(size);
    const mark = gwB.log.mark();
    toA.cut();
    toB.cut();
    // The link comes back (the gateways redial) and the transfer goes on from what B has, not from 0.
    const resumed = await gwB.log.waitFor((l) => l.msg === 'file transfer resumed', W, mark);
    expect(resumed.from as number).toBeGreaterThanOrEqual(atCut - 64 * 1024);
    // Chat during the transfer: it arrives while the file still comes.
    await alice.send(jidB, 'is it coming?');
    const chat = await bob.nextMessage((m) => bare(m.from) === jidA && m.body === 'is it coming?', W, from);
    // ...while the file is still on its way (its bytes not all at B).
    expect(await partSize()).toBeLessThan(size);
    const file = await bob.nextMessage((m) => bare(m.from) === jidA && m.body.startsWith('https://'), T, from);
    expect(bob.events.indexOf(chat)).toBeLessThan(bob.events.indexOf(file));
    const down = await bob.download(file.body, T);
    expect(down).toMatchObject({ status: 200, size, sha256: sha256(bytes) });
    // Delivered once: no second message for the same file.
    await bob.ping();
    expect(bob.events.slice(from).filter((e) => e.event === 'message' && bare(e.from) === jidA && e.body.startsWith('https://'))).toHaveLength(1);
    // Both gateways told their progress (a bar on a terminal, plain lines elsewhere): a few lines, not one per piece.
    const progress = (gw: E2eGateway, task: string) =>
      gw.log.lines.map((l) => l.progress as { task: string; done: number; total: number; final?: boolean } | undefined).filter((p) => p?.task.startsWith(task));
    for (const [gw, task] of [[gwB, 'receiving "video.mkv"'], [gwA, 'sending "video.mkv"']] as const) {
      const lines = progress(gw, task);
      expect(lines.length, task).toBeGreaterThan(2);
      expect(lines.length, task).toBeLessThan(60);
      expect(lines.at(-1), task).toMatchObject({ done: size, total: size, final: true });
    }
  }, T);

  it('a transfer resumes after the receiving gateway restarts halfway', async (ctx) => {
    showOnFailure(ctx);
    const size = 24 * MIB;
    const bytes = randomBytes(size);
    const url = await upload(alice, 'backup.tar', bytes);
    await alice.send(jidB, url, { oob_url: url });
    const { dataDir, peerPort } = gwB;
    const uploadsB = join(dataDir, 'uploads');
    const partSize = async (): Promise<number> => {
      const parts = (await readdir(uploadsB)).filter((f) => f.endsWith('.part'));
      return parts.length === 1 ? (await stat(join(uploadsB, parts[0]!))).size : 0;
    };
    await expect.poll(partSize, { timeout: W, interval: 50 }).toBeGreaterThanOrEqual(size / 3);
    await bob.stop();
    await gwB.stop();
    const atStop = await partSize();
    expect(atStop).toBeLessThan(size);
    gwB = await startInProcessGateway({ web: true, policy: 'accept', dataDir, peerPort });
    bob = await slixUser(gwB);
    const from = bob.mark();
    const resumed = await gwB.log.waitFor((l) => l.msg === 'file transfer resumed', W);
    expect(resumed.from).toBe(atStop);
    const file = await bob.nextMessage((m) => bare(m.from) === jidA && m.body.startsWith('https://'), T, from);
    expect(file.body).toMatch(/\/backup\.tar$/);
    expect(await bob.download(file.body, T)).toMatchObject({ status: 200, size, sha256: sha256(bytes) });
  }, T);

  it('a file the other gateway will not take (over its files.max_file_mb) is not delivered, and the sender is told why', async (ctx) => {
    showOnFailure(ctx);
    const gwC = await startInProcessGateway({ web: true, policy: 'accept', extraConfig: '[files]\nmax_file_mb = 1\n' });
    try {
      const jidC = gwA.jidOf(gwC.fingerprint);
      let from = alice.mark();
      await gatewayCommand(alice, `add tlsim://${gwC.fingerprint}@127.0.0.1:${gwC.peerPort} Carol`, /^Added /);
      await seesOnline(alice, jidC, from);
      await expect.poll(async () => (await alice.discoInfo(`${jidC}/tlsim`)).features, { timeout: W, interval: 300 }).toContain('urn:xmpp:receipts');
      const url = await upload(alice, 'too big for carol.bin', randomBytes(MIB + 1));
      from = alice.mark();
      await alice.send(jidC, url, { oob_url: url });
      const told = await alice.nextMessage((m) => m.from === 'localhost' && /too big for carol/.test(m.body), W, from);
      expect(told.body).toMatch(/was not delivered to Carol: the receiving gateway refused it: .*at most 1048576/);
      expect(await readdir(join(gwC.dataDir, 'uploads'))).toEqual([]);
    } finally {
      await gwC.stop();
    }
  }, T);

  it('to a reference peer (gnutls-serv) only a line saying a file was offered; the user is told', async (ctx) => {
    showOnFailure(ctx);
    const id = await makeOpensslIdentity(tmpDir('rex'));
    rex = await gnutlsServ(id);
    const jidR = gwA.jidOf(id.fingerprint);
    let from = alice.mark();
    await gatewayCommand(alice, `add tlsim://${id.fingerprint}@127.0.0.1:${rex.port} Rex`, /^Added /);
    await seesOnline(alice, jidR, from);
    const bytes = Buffer.from('secret bytes that must never become text\n'.repeat(100));
    const url = await upload(alice, 'notes.txt', bytes);
    from = alice.mark();
    await alice.send(jidR, url, { oob_url: url });
    const told = await alice.nextMessage((m) => m.from === 'localhost' && /notes\.txt/.test(m.body), W, from);
    expect(told.body).toMatch(/was not sent: Rex is a plain tlsim peer, which can receive text only/);
    await alice.send(jidR, 'after the file', {});
    await alice.nextMessage((m) => bare(m.from) === jidR && m.body === 'after the file', W, from);
    const lines = [...rex.proc.output().matchAll(/^received cmd: (.*)$/gm)].map((m) => m[1]!.trim());
    expect(lines, rex.proc.output()).toEqual(['[a file was offered here: "notes.txt", 4.0 KiB; tlsim carries text only, so it was not sent]', 'after the file']);
    expect(rex.proc.output()).not.toContain('secret bytes');
    expect(rex.proc.output()).not.toContain(url);
    // The same in Pidgin's way: one line, and the user told.
    from = alice.mark();
    await alice.siSend(`${jidR}/tlsim`, join(dir, 'notes.txt'));
    await alice.nextMessage((m) => m.from === 'localhost' && /notes\.txt.*was not sent/.test(m.body), W, from);
    await alice.send(jidR, 'after pidgin', {});
    await alice.nextMessage((m) => bare(m.from) === jidR && m.body === 'after pidgin', W, from);
    const after = [...rex.proc.output().matchAll(/^received cmd: (.*)$/gm)].map((m) => m[1]!.trim()).slice(2);
    expect(after).toEqual([lines[0], 'after pidgin']);
    expect(rex.proc.output()).not.toContain('secret bytes');
  }, T);
});

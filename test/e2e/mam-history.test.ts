// History on every device, with real programs: slixmpp chats with a reference peer (openssl s_server)
// through the gateway, then a second slixmpp device logs in and pages the whole conversation with
// XEP-0313 (its xep_0313 plugin): every message once, in order, with the ids the first device saw;
// a restart of the gateway keeps the history and its ids. And the offline messages a device synced over MAM
// are not pushed to it again, while a device without MAM gets them (as Prosody mod_mam + mod_offline do).
import { afterAll, expect, it } from 'vitest';
import { SlixmppClient, type MamPage } from '../../clients/slixmpp/driver.js';
import { makeOpensslIdentity, removeTmpDirs, tmpDir } from '../support/identities.js';
import { waitUntil } from '../support/proc.js';
import { interopSuite } from '../support/tools.js';
import { keptForUser, startInProcessGateway, type E2eGateway } from './support/gateway.js';
import { opensslServer, WAIT_MS } from './support/reference-peer.js';

const T = 180_000;

interopSuite('e2e: history over XEP-0313 with slixmpp and a reference peer', ['slixmpp', 'openssl'], () => {
  const clients: SlixmppClient[] = [];
  const stops: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.stop().catch(() => undefined)));
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    removeTmpDirs();
  }, T);

  const device = async (gw: E2eGateway, resource: string): Promise<SlixmppClient> => {
    const c = await SlixmppClient.start();
    clients.push(c);
    await c.connect({ jid: `${gw.userJid}/${resource}`, password: gw.password, port: gw.c2sPort, ca_file: gw.caCertFile, origin_id: true });
    return c;
  };
  const flatten = (pages: MamPage[]) => pages.flatMap((p) => p.results);
  const waitOnline = (gw: E2eGateway, fp: string) => waitUntil(() => gw.running.network.getContact(fp)?.online === true, WAIT_MS);
  /** Until the gateway's database holds `n` messages kept for the user. */
  const waitKept = (gw: E2eGateway, n: number) => waitUntil(() => keptForUser(gw) >= n, WAIT_MS);

  it('a second device pages the whole conversation, with stable ids and no duplicates, before and after a restart', async () => {
    let gw = await startInProcessGateway({ policy: 'accept' });
    stops.push(() => gw.stop());
    const id = await makeOpensslIdentity(tmpDir('mam-peer'));
    const peer = await opensslServer(id);
    stops.push(() => peer.proc.kill());
    const peerJid = gw.jidOf(id.fingerprint);
    await gw.running.network.addContact(id.fingerprint, { name: 'Sam', address: `127.0.0.1:${peer.port}` });

    const laptop = await device(gw, 'laptop');
    // Both ways, each line seen by the other side before the next.
    const seen: Array<{ body: string; stanzaId: string | null; originId?: string }> = [];
    for (let i = 0; i < 6; i++) {
      if (i % 2 === 0) {
        const { msg_id } = await laptop.send(peerJid, `laptop says ${i}`);
        await peer.proc.waitFor(new RegExp(`^laptop says ${i}$`, 'm'), WAIT_MS, { stream: 'stdout' });
        seen.push({ body: `laptop says ${i}`, stanzaId: null, originId: msg_id });
      } else {
        const from = laptop.mark();
        await peer.type(`sam says ${i}\n`);
        const m = await laptop.nextMessage((e) => e.body === `sam says ${i}`, WAIT_MS, from);
        expect(m.stanza_id_by).toBe(gw.userJid);
        seen.push({ body: m.body, stanzaId: m.stanza_id ?? null });
      }
    }

    const check = (pages: MamPage[]) => {
      const results = flatten(pages);
      expect(results.map((r) => r.body)).toEqual(seen.map((s) => s.body));
      expect(new Set(results.map((r) => r.id)).size).toBe(6);
      results.forEach((r, i) => {
        const s = seen[i]!;
        if (s.stanzaId) expect([r.body, r.id, r.from]).toEqual([s.body, s.stanzaId, `${peerJid}/tlsim`]);
        else expect([r.body, r.origin_id, r.to]).toEqual([s.body, s.originId, peerJid]);
        expect(r.stanza_id).toBe(r.id);
      });
      // Pages of 4: the first is not complete, the last one is.
      expect(pages[0]!).toMatchObject({ complete: false, count: 6 });
      expect(pages.some((p) => p.complete)).toBe(true);
      return results.map((r) => r.id);
    };

    const phone = await device(gw, 'phone');
    const ids = check((await phone.mam({ max: 4 })).pages);
    const withSam = flatten((await phone.mam({ with: peerJid, max: 10 })).pages);
    expect(withSam.map((r) => r.id)).toEqual(ids);

    // The gateway restarts on the same data: the same history, the same ids.
    await gw.stop();
    stops.pop();
    gw = await startInProcessGateway({ policy: 'accept', dataDir: gw.dataDir });
    stops.push(() => gw.stop());
    const tablet = await device(gw, 'tablet');
    expect(check((await tablet.mam({ max: 4 })).pages)).toEqual(ids);
    // Backwards from the newest, as Conversations does: the same messages.
    const back = flatten((await tablet.mam({ max: 4, reverse: true })).pages);
    expect(new Set(back.map((r) => r.id))).toEqual(new Set(ids));
  }, T);

  it('a device that syncs over MAM before its presence is not sent the offline messages again; one without MAM gets them, delayed', async () => {
    const gw = await startInProcessGateway({ policy: 'accept' });
    stops.push(() => gw.stop());
    const id = await makeOpensslIdentity(tmpDir('mam-peer-offline'));
    const peer = await opensslServer(id);
    stops.push(() => peer.proc.kill());
    const peerJid = gw.jidOf(id.fingerprint);
    await gw.running.network.addContact(id.fingerprint, { name: 'Sam', address: `127.0.0.1:${peer.port}` });
    await waitOnline(gw, id.fingerprint);
    // Nobody is logged in: the gateway keeps these for the user.
    await peer.type('while you were away\n');
    await waitKept(gw, 1);

    // Conversations-style: MAM first, presence after.
    const phone = await SlixmppClient.start();
    clients.push(phone);
    await phone.connect({ jid: `${gw.userJid}/phone`, password: gw.password, port: gw.c2sPort, ca_file: gw.caCertFile, initial_presence: false });
    const synced = flatten((await phone.mam({ max: 10 })).pages);
    expect(synced.map((r) => r.body)).toEqual(['while you were away']);
    const from = phone.mark();
    await phone.request({ cmd: 'presence' });
    await phone.ping();
    await new Promise((r) => setTimeout(r, 1000));
    expect(phone.events.slice(from).filter((e) => e.event === 'message')).toEqual([]);

    // A client without MAM (Pidgin) logs in: the message, with its delay stamp and the same id.
    const desktop = await device(gw, 'desktop');
    const m = await desktop.nextMessage((e) => e.body === 'while you were away', WAIT_MS);
    expect(m.from).toBe(`${peerJid}/tlsim`);
    expect(m.delay).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(m.stanza_id).toBe(synced[0]!.id);
  }, T);
});

// Bookmarks follow the rooms while clients are online (XEP-0402 notifications, and the XEP-0048 list over PEP):
// a room added (`room add`) or hosted (`room host`) is pushed to the user's clients at once with autojoin, so Gajim,
// Dino and Conversations show it and join without a new login; a removed room's bookmark is retracted. slixmpp,
// logged in with caps that ask for urn:xmpp:bookmarks:1+notify, reads the events as they come.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SlixEvent, SlixmppClient } from '../../clients/slixmpp/driver.js';
import { killAll } from '../support/proc.js';
import { interopSuite } from '../support/tools.js';
import { startInProcessGateway, type E2eGateway } from './support/gateway.js';
import { gatewayCommand, slixUser } from './support/slixmpp-users.js';

const T = 120_000;
const W = 30_000;
const NATIVE = 'urn:xmpp:bookmarks:1';
const SERVICE = 'conference.localhost';
type PepEvent = Extract<SlixEvent, { event: 'pep_event' }>;

interopSuite('e2e: room bookmarks follow room add, host and remove while the user is online', ['slixmpp'], () => {
  let gw: E2eGateway;
  let laptop: SlixmppClient;

  beforeAll(async () => {
    gw = await startInProcessGateway();
    laptop = await slixUser(gw, { pep: true, notify: [NATIVE] });
  }, T);
  afterAll(async () => {
    await laptop?.stop();
    await gw?.stop();
    await killAll();
  });

  const pepEvent = (kind: PepEvent['kind'], id: string, from: number) =>
    laptop.waitForEvent<PepEvent>((e) => e.event === 'pep_event' && e.node === NATIVE && e.kind === kind && e.item_id === id, W, from);
  const stored = async () => (await laptop.request({ cmd: 'pep_items', node: NATIVE })).items.map((i) => i.item_id).sort();

  it('a room added while the client is online is pushed to it as an autojoin bookmark, and is in the list', async () => {
    const from = laptop.mark();
    await gatewayCommand(laptop, `room add tlsim://${randomBytes(32).toString('hex')}@127.0.0.1:9 lounge`, /^Added room lounge/);
    const pushed = await pepEvent('publish', `lounge@${SERVICE}`, from);
    expect(pushed.xml).toMatch(/autojoin="(true|1)"/);
    expect(pushed.xml).toContain('name="lounge"');
    expect(await stored()).toEqual([`lounge@${SERVICE}`]);
  }, T);

  it('a room the gateway starts hosting is pushed too, and legacy (XEP-0048) readers see both', async () => {
    const from = laptop.mark();
    await gatewayCommand(laptop, 'room host cafe', /^Hosting room cafe/);
    await pepEvent('publish', `cafe@${SERVICE}`, from);
    expect(await stored()).toEqual([`cafe@${SERVICE}`, `lounge@${SERVICE}`]);
    const legacy = (await laptop.request({ cmd: 'bookmarks_get', method: 'xep_0223' })).conferences.map((c) => c.jid).sort();
    expect(legacy).toEqual([`cafe@${SERVICE}`, `lounge@${SERVICE}`]);
  }, T);

  it('a removed room loses its bookmark: the client is told (a retraction) and the list no longer has it', async () => {
    const from = laptop.mark();
    await gatewayCommand(laptop, 'room remove lounge', /^Removed room lounge/);
    await pepEvent('retract', `lounge@${SERVICE}`, from);
    expect(await stored()).toEqual([`cafe@${SERVICE}`]);
    expect((await laptop.request({ cmd: 'bookmarks_get', method: 'xep_0049' })).conferences.map((c) => c.jid)).toEqual([`cafe@${SERVICE}`]);
    // A second client logging in now reads the same list.
    const phone = await slixUser(gw, { pep: true });
    try {
      expect((await phone.request({ cmd: 'pep_items', node: NATIVE })).items.map((i) => i.item_id)).toEqual([`cafe@${SERVICE}`]);
    } finally {
      await phone.stop();
    }
  }, T);
});

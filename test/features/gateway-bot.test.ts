// Dialogues with the "tlsim gateway" contact: typed commands and what the user then sees
// (roster pushes, the blocklist), for clients without ad-hoc commands (Dino, bitlbee).
import { beforeEach, describe, expect, it } from 'vitest';
import type { FakePeerNetwork } from '../../gateway/bridge/fake-peer-network.js';
import { COMMANDS } from '../../gateway/commands/index.js';
import { gatewayBot } from '../../gateway/features/gateway-bot.js';
import { features } from '../../gateway/features/index.js';
import type { Feature } from '../../gateway/xmpp/feature.js';
import type { Element } from '../../gateway/xmpp/xml/element.js';
import { gatewayPerTest, isRosterPush as rosterPush, pushedRosterItem as itemOf, SELF, SelfNetwork } from '../support/feature-dialogue.js';
import type { TestClient, TestGateway } from '../support/xmpp-harness.js';

const BLOCKING = 'urn:xmpp:blocking';
const ALICE = 'a1'.repeat(32);

// Before integration the messages feature still has a placeholder bot on 'server' (one message
// handler per kind): keep everything else it does, drop that one handler. After integration this
// changes nothing, and the list already holds the bot: it is taken out and put back once.
const messagesWithoutBot = (f: Feature): Feature => ({
  ...f,
  setup: (ctx) => f.setup({ ...ctx, message: (kind, h) => (kind === 'server' ? undefined : ctx.message(kind, h)) }),
});
const withBot = [
  ...features.filter((f) => f.name !== gatewayBot.name).map((f) => (f.name === 'messages' ? messagesWithoutBot(f) : f)),
  gatewayBot,
];

describe('gateway bot', () => {
  let gw: TestGateway;
  let fake: FakePeerNetwork;
  let me: TestClient;
  const { bare } = gatewayPerTest((d) => ({ gw, fake } = d), () => ({ network: new SelfNetwork(), features: withBot }));
  const fromGateway = (el: Element) => el.name === 'message' && el.attrs.from === gw.domain && el.getChild('body') !== undefined;
  /** Sends a line to the gateway contact and returns its answer. */
  const say = async (text: string, client = me): Promise<string> => {
    client.send(`<message type='chat' to='${gw.domain}'><body>${text.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</body></message>`);
    const reply = await client.next(fromGateway);
    expect(reply.attrs).toMatchObject({ type: 'chat', to: client.jid });
    return reply.getChildText('body')!;
  };

  beforeEach(async () => {
    me = await gw.login({ resource: 'pc' });
  });

  it('answers help with every command and its usage, whatever the case and spacing', async () => {
    const help = await say('  Help  ');
    for (const c of COMMANDS) expect(help).toContain(c.usage.split(' | ')[0]);
    expect(await say('hlep')).toMatch(/unknown command "hlep".*help/);
  });

  it('adds a contact from a share string: the roster push follows, then list shows it', async () => {
    const reply = await say(`add tlsim://${ALICE}@alice.example:4433 Alice Smith`);
    expect(reply).toContain('Added Alice Smith (a1a1a1a1…), address alice.example:4433');
    const push = await me.next(rosterPush);
    expect(itemOf(push).attrs).toMatchObject({ jid: bare(ALICE), name: 'Alice Smith', subscription: 'both' });
    expect(await say('list')).toContain('Alice Smith · a1a1a1a1… · offline · contact · alice.example:4433');
  });

  it('adds from fingerprint, host and port, and says what is wrong with a bad share string', async () => {
    expect(await say(`add ${ALICE} 192.0.2.1 5000 Alice`)).toContain('Added Alice');
    expect(fake.getContact(ALICE)?.address).toBe('192.0.2.1:5000');
    expect(await say('add tlsim://nothex@h:1')).toBe('not a tlsim share string: fingerprint must be 64 hex characters');
  });

  it('renames and removes: the roster follows', async () => {
    fake.addFakeContact({ id: ALICE, name: 'Alice' });
    await me.next(rosterPush);
    expect(await say('rename alice Ally')).toBe('Renamed Alice to Ally (a1a1a1a1…)');
    expect(itemOf(await me.next(rosterPush)).attrs).toMatchObject({ jid: bare(ALICE), name: 'Ally' });
    expect(await say('remove a1a1a1a1')).toBe('Removed Ally (a1a1a1a1…)');
    expect(itemOf(await me.next(rosterPush)).attrs).toMatchObject({ jid: bare(ALICE), subscription: 'remove' });
    expect(await say('remove Ally')).toBe('no contact named Ally');
  });

  it('blocks and unblocks: the contact leaves and rejoins the roster, and the blocklist says so', async () => {
    fake.addFakeContact({ id: ALICE, name: 'Alice', online: true });
    await me.next(rosterPush);
    expect(await say('block Alice')).toContain('Blocked Alice');
    expect(itemOf(await me.next(rosterPush)).attrs).toMatchObject({ jid: bare(ALICE), subscription: 'remove' });
    const list = await me.iq(`<blocklist xmlns='${BLOCKING}'/>`);
    expect(list.getChild('blocklist', BLOCKING)!.getChildren('item').map((i) => i.attrs.jid)).toEqual([bare(ALICE)]);

    expect(await say('unblock alice')).toContain('Unblocked Alice');
    expect(itemOf(await me.next(rosterPush)).attrs).toMatchObject({ jid: bare(ALICE), subscription: 'both' });
    expect(fake.listBlocked()).toEqual([]);
  });

  it('lists, accepts and denies pending requests', async () => {
    fake.requestFrom(ALICE, 'Alice');
    expect(await say('requests')).toContain(`Alice · ${ALICE}`);
    expect(await say(`accept ${ALICE}`)).toBe('Accepted Alice (a1a1a1a1…): now a contact');
    expect(itemOf(await me.next(rosterPush)).attrs).toMatchObject({ jid: bare(ALICE), subscription: 'both' });
    expect(await say(`deny ${ALICE}`)).toBe('no pending request with fingerprint a1a1a1a1…');
  });

  it('prints the share string and the status', async () => {
    expect(await say('share')).toBe(`tlsim://${SELF}@192.0.2.7:4433`);
    const status = await say('STATUS');
    expect(status).toContain(`Fingerprint: ${SELF}`);
    expect(status).toContain('Queued messages: 2');
  });

  it('answers only the session that asked, and a message without type too', async () => {
    const phone = await gw.login({ resource: 'phone' });
    phone.send(`<message to='${gw.domain}'><body>share</body></message>`);
    expect((await phone.next(fromGateway)).attrs.to).toBe(phone.jid);
    await me.expectNothing(300, fromGateway);
  });

  it('ignores errors, group chat, and chat states without a body', async () => {
    me.send(`<message type='error' to='${gw.domain}'><body>help</body></message>`);
    me.send(`<message type='groupchat' to='${gw.domain}'><body>help</body></message>`);
    me.send(`<message type='chat' to='${gw.domain}'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`);
    me.send(`<message type='chat' to='${gw.domain}'><body>   </body></message>`);
    await me.sync();
    await me.expectNothing(300, (el) => el.name === 'message');
  });

  it('answers "something went wrong" for a bug, and keeps working', async () => {
    fake.listContacts = () => {
      throw new Error('store on fire');
    };
    expect(await say('list')).toBe('Something went wrong inside the gateway; the log has the details.');
  });
});

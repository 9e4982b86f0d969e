// Ad-hoc command dialogues on the server domain, as Pidgin and Gajim run them: the command list,
// a form, the submitted form, notes and result forms, cancel and bad sessions (XEP-0050, XEP-0004).
import { beforeEach, describe, expect, it } from 'vitest';
import type { FakePeerNetwork } from '../../gateway/bridge/fake-peer-network.js';
import { adHocItems } from '../../gateway/commands/index.js';
import { features } from '../../gateway/features/index.js';
import { adHocCommands } from '../../gateway/features/xep-0050-ad-hoc-commands.js';
import type { Feature, IqHandler } from '../../gateway/xmpp/feature.js';
import { Element, x } from '../../gateway/xmpp/xml/element.js';
import { gatewayPerTest, SELF, SelfNetwork } from '../support/feature-dialogue.js';
import { stanzaErrorOf, type TestClient, type TestGateway } from '../support/xmpp-harness.js';

const COMMANDS = 'http://jabber.org/protocol/commands';
const XDATA = 'jabber:x:data';
const DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';
const ROSTER = 'jabber:iq:roster';
const ALICE = 'a1'.repeat(32);

// Before integration the disco feature answers the commands node with no items: then this fills
// in what its edit will list (adHocItems(), jid = the domain). Once it lists them, its answer stands.
const discoWithCommands = (f: Feature): Feature => ({
  ...f,
  setup: (ctx) =>
    f.setup({
      ...ctx,
      iq: (kind, type, ns, name, handler) => {
        const wrapped: IqHandler = async (req) => {
          const own = await handler(req);
          if (req.payload.attr('node') !== COMMANDS || !(own instanceof Element) || own.getChildren('item').length > 0) return own;
          return x('query', { xmlns: DISCO_ITEMS, node: COMMANDS }, ...adHocItems().map((i) => x('item', { jid: ctx.identity.domain, node: i.node, name: i.name })));
        };
        ctx.iq(kind, type, ns, name, kind === 'server' && ns === DISCO_ITEMS ? wrapped : handler);
      },
    }),
});
const withAdHoc = [...features.filter((f) => f.name !== adHocCommands.name).map((f) => (f.name === 'disco' ? discoWithCommands(f) : f)), adHocCommands];

const commandOf = (el: Element) => el.getChild('command', COMMANDS)!;
const formOf = (el: Element) => commandOf(el).getChild('x', XDATA)!;
const fieldsOf = (form: Element) => form.getChildren('field').map((f) => f.attrs.var);
const noteOf = (el: Element) => commandOf(el).getChild('note')!;

describe('ad-hoc commands', () => {
  let gw: TestGateway;
  let fake: FakePeerNetwork;
  let me: TestClient;
  const run = (node: string, attrs: { action?: string; sessionid?: string } = {}, form = '', client = me) =>
    client.iq(
      `<command xmlns='${COMMANDS}' node='${node}'${attrs.action ? ` action='${attrs.action}'` : ''}${attrs.sessionid ? ` sessionid='${attrs.sessionid}'` : ''}>${form}</command>`,
      { type: 'set', to: gw.domain },
    );
  const submit = (fields: Record<string, string>) =>
    `<x xmlns='${XDATA}' type='submit'>${Object.entries(fields)
      .map(([k, v]) => `<field var='${k}'><value>${v}</value></field>`)
      .join('')}</x>`;

  gatewayPerTest((d) => ({ gw, fake } = d), () => ({ network: new SelfNetwork(), features: withAdHoc }));
  beforeEach(async () => {
    me = await gw.login({ resource: 'pidgin' });
  });

  it('advertises commands on the domain and lists them under the commands node', async () => {
    const info = await me.iq(`<query xmlns='${DISCO_INFO}'/>`, { to: gw.domain });
    const vars = info.getChild('query', DISCO_INFO)!.getChildren('feature').map((f) => f.attrs.var);
    expect(vars).toContain(COMMANDS);
    expect(vars).toContain(XDATA);

    const items = await me.iq(`<query xmlns='${DISCO_ITEMS}' node='${COMMANDS}'/>`, { to: gw.domain });
    const listed = items.getChild('query', DISCO_ITEMS)!.getChildren('item').map((i) => i.attrs);
    expect(listed.map((i) => i.node)).toEqual(['add', 'list', 'rename', 'remove', 'block', 'unblock', 'requests', 'accept', 'deny', 'room-add', 'room-list', 'room-remove', 'room-host', 'room-allow', 'room-ban', 'room-members', 'profile', 'profile-set', 'publish', 'unpublish', 'crawl', 'share', 'status']);
    for (const i of listed) expect(i.jid).toBe(gw.domain);
    expect(listed[0]!.name).toBe('Add contact');
  });

  it('adds a contact: form, submitted form, completed note, roster push', async () => {
    const first = await run('add');
    expect(first.attrs.type).toBe('result');
    const cmd = commandOf(first);
    expect(cmd.attrs).toMatchObject({ node: 'add', status: 'executing' });
    expect(cmd.attrs.sessionid).toBeTruthy();
    const actions = cmd.getChild('actions')!;
    expect(actions.attrs.execute).toBe('complete');
    expect(actions.getChild('complete')).toBeDefined();
    const form = formOf(first);
    expect(form.attrs.type).toBe('form');
    expect(fieldsOf(form)).toEqual(['peer', 'address', 'name']);
    expect(form.getChildren('field')[0]!.getChild('required')).toBeDefined();

    const done = await run('add', { action: 'complete', sessionid: cmd.attrs.sessionid }, submit({ peer: `tlsim://${ALICE}@alice.example:4433`, name: 'Alice Smith' }));
    expect(commandOf(done).attrs).toMatchObject({ status: 'completed', sessionid: cmd.attrs.sessionid });
    expect(noteOf(done).attrs.type).toBe('info');
    expect(noteOf(done).text()).toContain('Added Alice Smith');
    const push = await me.next((el) => el.name === 'iq' && el.attrs.type === 'set' && !!el.getChild('query', ROSTER));
    expect(push.getChild('query', ROSTER)!.getChild('item')!.attrs).toMatchObject({ jid: `${ALICE}@${gw.peerDomain}`, name: 'Alice Smith' });
    expect(fake.getContact(ALICE)?.address).toBe('alice.example:4433');
  });

  it('takes "execute" as the submit too (Pidgin\'s default action), and shows mistakes as an error note', async () => {
    const { sessionid } = commandOf(await run('add')).attrs;
    const done = await run('add', { action: 'execute', sessionid }, submit({ peer: 'tlsim://nope' }));
    expect(commandOf(done).attrs.status).toBe('completed');
    expect(noteOf(done).attrs.type).toBe('error');
    expect(noteOf(done).text()).toBe('not a tlsim share string: missing "@" between the fingerprint and the address');
  });

  it('runs list in one step with the list in the note (no result table: Pidgin draws it as an empty form), and status with a result form', async () => {
    fake.addFakeContact({ id: ALICE, name: 'Alice', online: true, address: 'a.example:1' });
    const list = await run('list');
    expect(commandOf(list).attrs.status).toBe('completed');
    expect(commandOf(list).getChild('x', 'jabber:x:data')).toBeUndefined();
    expect(noteOf(list).text()).toContain('Alice · a1a1a1a1…');
    expect(noteOf(list).text()).toContain('a.example:1');

    const status = formOf(await run('status'));
    const value = (v: string) => status.getChildren('field').find((f) => f.attrs.var === v)?.getChildText('value');
    expect(value('fingerprint')).toBe(SELF);
    expect(value('share')).toBe(`tlsim://${SELF}@192.0.2.7:4433`);
    expect(value('queued')).toBe('2');
  });

  it('offers contacts to pick from, and says when there is nothing to pick', async () => {
    fake.addFakeContact({ id: ALICE, name: 'Alice' });
    const first = await run('remove');
    const field = formOf(first).getChildren('field')[0]!;
    expect(field.attrs.type).toBe('list-single');
    expect(field.getChildren('option').map((o) => [o.attrs.label, o.getChildText('value')])).toEqual([['Alice (a1a1a1a1…)', ALICE]]);
    const done = await run('remove', { action: 'complete', sessionid: commandOf(first).attrs.sessionid }, submit({ contact: ALICE }));
    expect(noteOf(done).text()).toBe('Removed Alice (a1a1a1a1…)');
    expect(fake.getContact(ALICE)).toBeUndefined();

    const none = await run('unblock');
    expect(commandOf(none).attrs.status).toBe('completed');
    expect(noteOf(none).text()).toBe('No blocked peers.');
  });

  it('cancels, and then the session is gone', async () => {
    const { sessionid } = commandOf(await run('block')).attrs;
    const canceled = await run('block', { action: 'cancel', sessionid });
    expect(commandOf(canceled).attrs).toMatchObject({ status: 'canceled', sessionid });
    const again = await run('block', { action: 'complete', sessionid }, submit({ contact: ALICE }));
    expect(stanzaErrorOf(again)).toBe('bad-request');
    expect(fake.listBlocked()).toEqual([]);
  });

  it('refuses unknown sessions, sessions of another resource, other actions and unknown nodes', async () => {
    const bad = await run('add', { action: 'complete', sessionid: 'made-up' }, submit({ peer: ALICE }));
    expect(bad.attrs.type).toBe('error');
    expect(stanzaErrorOf(bad)).toBe('bad-request');
    expect(bad.getChild('error')!.getChild('bad-sessionid', COMMANDS)).toBeDefined();

    const { sessionid } = commandOf(await run('add')).attrs;
    const other = await gw.login({ resource: 'gajim' });
    const stolen = await run('add', { action: 'complete', sessionid }, submit({ peer: ALICE }), other);
    expect(stolen.getChild('error')!.getChild('bad-sessionid', COMMANDS)).toBeDefined();
    const next = await run('add', { action: 'next', sessionid });
    expect(next.getChild('error')!.getChild('bad-action', COMMANDS)).toBeDefined();
    expect(stanzaErrorOf(await run('help'))).toBe('item-not-found');
    expect(stanzaErrorOf(await run('reboot'))).toBe('item-not-found');
  });

  it('keeps a bounded number of open dialogs: the oldest goes first', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 33; i++) ids.push(commandOf(await run('add')).attrs.sessionid!);
    const oldest = await run('add', { action: 'cancel', sessionid: ids[0] });
    expect(oldest.getChild('error')!.getChild('bad-sessionid', COMMANDS)).toBeDefined();
    expect(commandOf(await run('add', { action: 'cancel', sessionid: ids[1] })).attrs.status).toBe('canceled');
  });
});

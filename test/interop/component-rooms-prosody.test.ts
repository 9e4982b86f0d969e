// Group chat in component mode (docs/rooms.md, "Component mode"): a Prosody user (slixmpp) registered with the
// gateway component adds a real reference room (tlsd + fp2alias + tlsd-chat.sh + ncat --broker) from the gateway
// contact, finds it in the component's disco, joins it as <room>@<component domain>, reads and writes with gnutls-cli
// members and sees their joins and quits; then hosts a room of their own that a gnutls-cli member joins.
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import type { SlixCommandError, SlixEvent, SlixmppClient } from '../../clients/slixmpp/driver.js';
import { startComponentE2e, type E2eComponentGateway } from '../e2e/support/component-gateway.js';
import { login, registerWithGateway, seesOnline, tellGateway } from '../e2e/support/component-users.js';
import { makeOpensslIdentity, removeTmpDirs, tmpDir } from '../support/identities.js';
import { freePort } from '../support/net.js';
import { killAll } from '../support/proc.js';
import { startProsody, type ProsodyServer } from '../support/prosody.js';
import { escapeRe, joinChat, memberSaysTo, MINUTE, type ChatMember } from '../support/tlsd-chat-member.js';
import { startTlsdChat, TLSD_BUILD_TOOLS, type TlsdChat } from '../support/tlsd.js';
import { interopSuite } from '../support/tools.js';

const T = 120_000;
const W = 30_000;
const DOMAIN = 'peers.localhost';
const SECRET = 'component-rooms-secret';
const USERS = { alice: 'alice-pw-rooms' };
const ROOM = `lounge@${DOMAIN}`;
type Presence = Extract<SlixEvent, { event: 'presence' }>;

interopSuite('component mode: a Prosody user in tlsim rooms through the gateway component', ['prosody', 'slixmpp', ...TLSD_BUILD_TOOLS, 'gnutls-cli', 'ncat', 'openssl'], () => {
  let prosody: ProsodyServer;
  let gw: E2eComponentGateway;
  let room: TlsdChat;
  let user: SlixmppClient;
  let gina: ChatMember;
  let roomFp: string;
  let peerPortBase: number;
  const clients: SlixmppClient[] = [];
  const members: ChatMember[] = [];

  async function startGateway(dataDir?: string) {
    gw = await startComponentE2e({ domain: DOMAIN, secret: SECRET, port: prosody.componentPort, peerPortBase, dataDir });
    await gw.log.waitFor((l) => l.msg === 'component connected', W);
  }

  beforeAll(async () => {
    const roomId = await makeOpensslIdentity(tmpDir('room'));
    roomFp = roomId.fingerprint;
    [prosody, room] = await Promise.all([startProsody({ users: USERS, components: { [DOMAIN]: SECRET } }), startTlsdChat(roomId)]);
    peerPortBase = (await freePort()) - 1;
    await startGateway();
    user = await login(prosody, 'alice', USERS.alice, clients);
    await registerWithGateway(user, 'alice', prosody.domain, DOMAIN);
    await seesOnline(user, DOMAIN);
    // gina is in the room before the user comes.
    gina = await joinChat(room, await makeOpensslIdentity(tmpDir('gina')), 'gina');
    members.push(gina);
  }, T);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.stop().catch(() => undefined)));
    await Promise.all(members.map((m) => m.member.proc.kill()));
    await room?.stop();
    await gw?.stop();
    await prosody?.stop();
    await killAll();
    removeTmpDirs();
  }, T);

  const says = (m: ChatMember, text: string, from: number) => memberSaysTo(user, m, text, from);
  const presenceOf = (jid: string, type: 'available' | 'unavailable', from: number) =>
    user.waitForEvent<Presence>((e) => e.event === 'presence' && e.from === jid && e.type === type, W, from);

  it('room add from the gateway contact: the room is an item of the component and a MUC room in disco; the component itself stays a gateway', async () => {
    const reply = await tellGateway(user, DOMAIN, `room add tlsim://${roomFp}@127.0.0.1:${room.port} lounge`, /^Added room/);
    expect(reply).toContain(`Join ${ROOM} `);
    expect((await user.request({ cmd: 'disco_items', to: DOMAIN })).items).toContainEqual(expect.objectContaining({ jid: ROOM, name: 'lounge' }));
    const info = await user.request({ cmd: 'disco_info', to: ROOM });
    expect(info.identities).toContainEqual(expect.objectContaining({ category: 'conference', type: 'text' }));
    expect(info.features).toContain('http://jabber.org/protocol/muc');
    // No conference identity on the component: no client takes it for its server's MUC service.
    const service = await user.request({ cmd: 'disco_info', to: DOMAIN });
    expect(service.identities.map((i) => i.category)).toEqual(['gateway']);

    // The same as an ad-hoc command (XEP-0050): the list names the room's JID.
    const listed = await user.adHoc(DOMAIN, 'room-list', {});
    expect(listed.notes.map((n) => n.text).join('\n')).toContain(`${ROOM} · 127.0.0.1:${room.port}`);
    // 64 hex digits name a peer on this domain: never a room.
    const hex = await tellGateway(user, DOMAIN, `room add tlsim://${roomFp}@127.0.0.1:${room.port} ${'ab'.repeat(32)}`, /room name/);
    expect(hex).toMatch(/not 64 hex digits/);
    // A room not added: the join is refused with the way to add it.
    const from = user.mark();
    await user.request({ cmd: 'muc_join', to: `nowhere@${DOMAIN}/Alice` });
    const refused = await user.waitForEvent<Presence>((e) => e.event === 'presence' && e.from.startsWith(`nowhere@${DOMAIN}`) && e.type === 'error', W, from);
    expect(refused.error).toMatch(/room add/);
  }, T);

  it('joins as "Alice": reads and writes with a gnutls-cli member both ways, sees a join and a quit, rejoins after a gateway restart, and leaves', async () => {
    onTestFailed(() => console.log(`gateway log:\n${gw.log.tail(60)}\ngina read:\n${gina.member.received()}`));
    let from = user.mark();
    await user.request({ cmd: 'muc_join', to: `${ROOM}/Alice` });
    const self = await presenceOf(`${ROOM}/alice`, 'available', from);
    expect(self.muc_codes).toEqual(expect.arrayContaining(['110', '210']));
    await user.nextMessage((m) => m.type === 'groupchat' && m.from === ROOM && typeof m.subject === 'string', W, from);

    from = user.mark();
    const heard = await says(gina, 'hello from gnutls-cli', from);
    expect(heard.from).toBe(`${ROOM}/gina`);
    expect(user.events.slice(from).some((e) => e.event === 'presence' && e.from === `${ROOM}/gina` && e.type === 'available')).toBe(true);

    from = user.mark();
    const sent = await user.send(ROOM, 'hi gina, from Prosody', { type: 'groupchat' });
    await gina.waitFor(new RegExp(`^${MINUTE} alice\\[\\d+\\]: hi gina, from Prosody$`, 'm'));
    const echo = await user.nextMessage((m) => m.type === 'groupchat' && m.body === 'hi gina, from Prosody', W, from);
    expect(echo.from).toBe(`${ROOM}/alice`);
    expect(echo.id).toBe(sent.msg_id);

    from = user.mark();
    const bob = await joinChat(room, await makeOpensslIdentity(tmpDir('bob')), 'bob');
    await presenceOf(`${ROOM}/bob`, 'available', from);
    bob.member.proc.signal('SIGTERM');
    await presenceOf(`${ROOM}/bob`, 'unavailable', from);
    await gina.waitFor(new RegExp(`^${MINUTE} \\* ${escapeRe(bob.nick)} quits$`, 'm'));
    expect(user.events.filter((e) => e.event === 'message' && e.body === 'hi gina, from Prosody')).toHaveLength(1);

    // XEP-0410, as Gajim, Dino and Conversations ping their occupant JID: in the room, then (the gateway restarted
    // while the client's session on its server lived on) not any more, which is what makes a client join again.
    expect((await user.request({ cmd: 'ping', to: `${ROOM}/alice` })).type).toBe('result');
    await gw.stop();
    await gina.waitFor(new RegExp(`^${MINUTE} \\* alice\\[\\d+\\] quits$`, 'm'));
    await startGateway(gw.dataDir);
    const stale = await user.request({ cmd: 'ping', to: `${ROOM}/alice` }).catch((err: SlixCommandError) => err.detail);
    expect(stale).toMatchObject({ event: 'error', condition: 'not-acceptable' });
    from = user.mark();
    await user.request({ cmd: 'muc_join', to: `${ROOM}/Alice` });
    await presenceOf(`${ROOM}/alice`, 'available', from);
    await says(gina, 'welcome back', from);

    from = user.mark();
    await user.request({ cmd: 'presence', to: `${ROOM}/alice`, type: 'unavailable' });
    const gone = await presenceOf(`${ROOM}/alice`, 'unavailable', from);
    expect(gone.muc_codes).toContain('110');
    // Alice's second quit line (the first came with the restart).
    await gina.waitFor(new RegExp(`alice\\[\\d+\\] quits$[\\s\\S]*^${MINUTE} \\* alice\\[\\d+\\] quits$`, 'm'));
    // Leaving the room is not leaving the gateway: the user's peer session stays up.
    expect(gw.running.status().component?.usersLinked).toBe(1);
  }, T);

  it('hosts a room of their own: a gnutls-cli member joins it with its share string, and both read each other', async () => {
    onTestFailed(() => console.log(`gateway log:\n${gw.log.tail(60)}`));
    const den = `den@${DOMAIN}`;
    const reply = await tellGateway(user, DOMAIN, 'room host den', /^Hosting room den/);
    expect(reply).toContain(`Join it yourself as ${den}.`);
    const port = Number(/tlsim:\/\/[0-9a-f]{64}@[^\s:]+:(\d+)/.exec(reply)?.[1]);
    expect(port).toBeGreaterThan(0);

    let from = user.mark();
    await user.request({ cmd: 'muc_join', to: `${den}/Alice` });
    await presenceOf(`${den}/alice`, 'available', from);
    from = user.mark();
    const hank = await joinChat({ port }, await makeOpensslIdentity(tmpDir('hank')), 'hank');
    members.push(hank);
    await presenceOf(`${den}/hank`, 'available', from);
    expect((await says(hank, 'hank in the den', from)).from).toBe(`${den}/hank`);

    from = user.mark();
    const sent = await user.send(den, 'welcome, hank', { type: 'groupchat' });
    await hank.waitFor(new RegExp(`^${MINUTE} alice\\[\\d+\\]: welcome, hank$`, 'm'));
    const echo = await user.nextMessage((m) => m.type === 'groupchat' && m.body === 'welcome, hank', W, from);
    expect(echo.id).toBe(sent.msg_id);
    hank.member.proc.signal('SIGTERM');
    await presenceOf(`${den}/hank`, 'unavailable', from);
  }, T);
});

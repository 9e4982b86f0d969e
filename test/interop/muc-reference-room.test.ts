// Group chat in a real reference room (docs/rooms.md): tlsd + fp2alias + tlsd-chat.sh + ncat --broker, members on
// gnutls-cli, and a slixmpp user who joins it as a XEP-0045 room through the gateway, reads, writes, sees joins and quits.
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { SlixmppClient, type SlixEvent } from '../../clients/slixmpp/driver.js';
import { startInProcessGateway, type E2eGateway } from '../e2e/support/gateway.js';
import { makeOpensslIdentity, removeTmpDirs, tmpDir } from '../support/identities.js';
import { killAll } from '../support/proc.js';
import { escapeRe, joinChat, memberSaysTo, MINUTE, type ChatMember } from '../support/tlsd-chat-member.js';
import { startTlsdChat, TLSD_BUILD_TOOLS, type TlsdChat } from '../support/tlsd.js';
import { interopSuite } from '../support/tools.js';

const T = 120_000;
const W = 30_000;
const GATEWAY = 'localhost';
const SERVICE = 'conference.localhost';
const ROOM = `lounge@${SERVICE}`;
type Presence = Extract<SlixEvent, { event: 'presence' }>;

interopSuite('MUC: a slixmpp user in a reference chat room through the gateway', [...TLSD_BUILD_TOOLS, 'gnutls-cli', 'ncat', 'openssl', 'slixmpp'], () => {
  let room: TlsdChat;
  let gw: E2eGateway;
  let user: SlixmppClient;
  let alice: ChatMember;
  let roomFp: string;
  let roomId: Awaited<ReturnType<typeof makeOpensslIdentity>>;

  beforeAll(async () => {
    roomId = await makeOpensslIdentity(tmpDir('room'));
    roomFp = roomId.fingerprint;
    [room, gw, user] = await Promise.all([startTlsdChat(roomId), startInProcessGateway(), SlixmppClient.start()]);
    await user.connect({ jid: `${gw.userJid}/laptop`, password: gw.password, host: '127.0.0.1', port: gw.c2sPort, ca_file: gw.caCertFile });
    // alice is in the room before the user comes.
    alice = await joinChat(room, await makeOpensslIdentity(tmpDir('alice')), 'alice');
  }, T);
  afterAll(async () => {
    await room?.stop();
    await gw?.stop();
    await killAll();
    removeTmpDirs();
  });

  const memberSays = (m: ChatMember, text: string, from: number) => memberSaysTo(user, m, text, from);

  it('the gateway lists a MUC service; room add from the gateway contact names the room', async () => {
    const info = await user.request({ cmd: 'disco_info', to: SERVICE });
    expect(info.identities).toContainEqual(expect.objectContaining({ category: 'conference', type: 'text' }));
    expect(info.features).toContain('http://jabber.org/protocol/muc');
    const from = user.mark();
    await user.send(GATEWAY, `room add tlsim://${roomFp}@127.0.0.1:${room.port} lounge`);
    const reply = await user.nextMessage((m) => m.from === GATEWAY, W, from);
    expect(reply.body).toMatch(/^Added room lounge .*Join lounge@conference\.localhost/);
    const roomInfo = await user.request({ cmd: 'disco_info', to: ROOM });
    expect(roomInfo.features).toContain('http://jabber.org/protocol/muc');
  }, T);

  it('joins as "Me": the room asks the alias, the user is "me" (codes 110 and 210), reads, writes, sees a join and a quit', async () => {
    onTestFailed(() => console.log(`gateway log:\n${gw.log.tail(60)}\nalice read:\n${alice.member.received()}`));
    let from = user.mark();
    await user.request({ cmd: 'muc_join', to: `${ROOM}/Me` });
    const self = await user.waitForEvent<Presence>((e) => e.event === 'presence' && e.from === `${ROOM}/me`, W, from);
    expect(self.muc_codes).toEqual(expect.arrayContaining(['110', '210']));
    expect(self.type).toBe('available');
    await user.nextMessage((m) => m.type === 'groupchat' && m.from === ROOM && typeof m.subject === 'string', W, from);
    // A member's line: a groupchat message from the member's nick, who is shown as an occupant first.
    from = user.mark();
    const heard = await memberSays(alice, 'hello from gnutls-cli', from);
    expect(heard.from).toBe(`${ROOM}/alice`);
    expect(heard.delay).toBeNull();
    expect(user.events.slice(from).some((e) => e.event === 'presence' && e.from === `${ROOM}/alice` && e.type === 'available')).toBe(true);

    // The user's line reaches the member as the room writes it, and comes back to the user once, from the gateway.
    from = user.mark();
    const sent = await user.send(ROOM, 'hi alice, from XMPP', { type: 'groupchat' });
    await alice.waitFor(new RegExp(`^${MINUTE} me\\[\\d+\\]: hi alice, from XMPP$`, 'm'));
    const echo = await user.nextMessage((m) => m.type === 'groupchat' && m.body === 'hi alice, from XMPP', W, from);
    expect(echo.from).toBe(`${ROOM}/me`);
    expect(echo.id).toBe(sent.msg_id);

    // bob joins and quits: occupant presence, available then unavailable.
    from = user.mark();
    const bob = await joinChat(room, await makeOpensslIdentity(tmpDir('bob')), 'bob');
    await user.waitForEvent((e) => e.event === 'presence' && e.from === `${ROOM}/bob` && e.type === 'available', W, from);
    bob.member.proc.signal('SIGTERM');
    await user.waitForEvent((e) => e.event === 'presence' && e.from === `${ROOM}/bob` && e.type === 'unavailable', W, from);
    expect(user.events.filter((e) => e.event === 'message' && e.body === 'hi alice, from XMPP')).toHaveLength(1);
    await alice.waitFor(new RegExp(`^${MINUTE} \\* ${escapeRe(bob.nick)} quits$`, 'm'));

    // A message too long for a member's line is refused with a reason, and nothing reaches the room.
    from = user.mark();
    await user.send(ROOM, 'x'.repeat(70_000), { type: 'groupchat' });
    const refused = await user.nextMessage((m) => m.type === 'error' && m.from === ROOM, W, from);
    expect(refused).toBeTruthy();

    // Leaving closes the link: the room says the user quit.
    from = user.mark();
    await user.request({ cmd: 'presence', to: `${ROOM}/me`, type: 'unavailable' });
    const gone = await user.waitForEvent<Presence>((e) => e.event === 'presence' && e.from === `${ROOM}/me` && e.type === 'unavailable', W, from);
    expect(gone.muc_codes).toContain('110');
    await alice.waitFor(new RegExp(`^${MINUTE} \\* me\\[\\d+\\] quits$`, 'm'));
    expect(alice.member.received()).not.toContain('x'.repeat(100));
  }, T);

  it('an added room is in the bookmarks of the next login, with autojoin (XEP-0402 and XEP-0048 alike)', async () => {
    const phone = await SlixmppClient.start();
    await phone.connect({ jid: `${gw.userJid}/phone`, password: gw.password, host: '127.0.0.1', port: gw.c2sPort, ca_file: gw.caCertFile, pep: true });
    const native = await phone.request({ cmd: 'pep_items', node: 'urn:xmpp:bookmarks:1' });
    expect(native.items.map((i) => i.item_id)).toEqual([ROOM]);
    expect((await phone.request({ cmd: 'bookmarks_get', method: 'xep_0049' })).conferences).toEqual([{ jid: ROOM, name: 'lounge', autojoin: true, nick: 'me' }]);
  }, T);

  it('a room that goes away while the user is in: a message says so, the gateway redials, and the user is back', async () => {
    let from = user.mark();
    await user.request({ cmd: 'muc_join', to: `${ROOM}/Me` });
    await user.waitForEvent<Presence>((e) => e.event === 'presence' && e.from === `${ROOM}/me` && e.type === 'available', W, from);
    from = user.mark();
    const port = room.port;
    await room.stop();
    const lost = await user.nextMessage((m) => m.type === 'groupchat' && m.from === ROOM && /^Lost the link to the room/.test(m.body), W, from);
    expect(lost.body).toMatch(/reconnecting in \d+ s/);
    // The same room (identity, port) comes back; its alias file is new, so it asks again and the gateway answers.
    room = await startTlsdChat(roomId, { port });
    await user.nextMessage((m) => m.type === 'groupchat' && m.from === ROOM && m.body === 'Back in the room.', 60_000, from);
    const carol = await joinChat(room, await makeOpensslIdentity(tmpDir('carol')), 'carol');
    // Once the user hears carol, her relay is connected (see above) and she reads what the user writes. Her join line
    // may come before the gateway's own relay to the room's broker is up (the reference room says "joins" once, to
    // whoever is connected then): she is an occupant at the latest when she speaks.
    await memberSays(carol, 'carol here', from);
    expect(user.events.slice(from).some((e) => e.event === 'presence' && e.from === `${ROOM}/carol` && e.type === 'available')).toBe(true);
    await user.send(ROOM, 'still here', { type: 'groupchat' });
    await carol.waitFor(new RegExp(`^${MINUTE} me\\[\\d+\\]: still here$`, 'm'));

    // Another client of the user joins the open room: who is known, itself, and the subject saying the room keeps no
    // history; none of what was said (the reference room keeps nothing, and the gateway keeps nothing of it).
    const phone = await SlixmppClient.start();
    try {
      await phone.connect({ jid: `${gw.userJid}/tablet`, password: gw.password, host: '127.0.0.1', port: gw.c2sPort, ca_file: gw.caCertFile });
      from = phone.mark();
      await phone.request({ cmd: 'muc_join', to: `${ROOM}/Me`, history: { maxstanzas: 50 } });
      const subject = await phone.nextMessage((m) => m.type === 'groupchat' && m.from === ROOM && typeof m.subject === 'string', W, from);
      expect(subject.subject).toMatch(/keeps no history/);
      const seen = phone.events.slice(from);
      expect(seen.some((e) => e.event === 'presence' && e.from === `${ROOM}/carol` && e.type === 'available')).toBe(true);
      expect(seen.filter((e) => e.event === 'message' && (e.body === 'carol here' || e.body === 'still here'))).toEqual([]);
    } finally {
      await phone.stop();
    }
  }, T);
});

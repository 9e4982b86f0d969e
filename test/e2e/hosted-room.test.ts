// A room hosted by gateway A (issue 12 part 2): A's user hosts it from the gateway contact and joins it as a MUC;
// B's user, on another gateway, adds it by its share string and joins; gnutls-cli members join it as they join the
// reference room. Everyone sees everyone; a late member reads who is there and the last lines; a member who
// floods is cut and the others chat on; the room and its members survive a restart of A.
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { SlixmppClient, type SlixEvent } from '../../clients/slixmpp/driver.js';
import { makeOpensslIdentity, removeTmpDirs, tmpDir } from '../support/identities.js';
import { killAll } from '../support/proc.js';
import { gnutlsCli, gnutlsServ } from './support/reference-peer.js';
import { joinChat, MINUTE, type ChatMember } from '../support/tlsd-chat-member.js';
import { interopSuite } from '../support/tools.js';
import { startInProcessGateway, type E2eGateway } from './support/gateway.js';

const T = 120_000;
const W = 30_000;
const ROOM = 'party@conference.localhost';
type Presence = Extract<SlixEvent, { event: 'presence' }>;

interopSuite('e2e: a room hosted by a gateway, with members on two gateways and gnutls-cli', ['gnutls-cli', 'openssl', 'slixmpp'], () => {
  let a: E2eGateway;
  let b: E2eGateway;
  let anna: SlixmppClient;
  let bert: SlixmppClient;
  let carol: ChatMember;
  let carolId: Awaited<ReturnType<typeof makeOpensslIdentity>>;
  let share: string;
  let port: number;

  beforeAll(async () => {
    [a, b, anna, bert] = await Promise.all([startInProcessGateway(), startInProcessGateway(), SlixmppClient.start(), SlixmppClient.start()]);
    await anna.connect({ jid: `${a.userJid}/laptop`, password: a.password, host: '127.0.0.1', port: a.c2sPort, ca_file: a.caCertFile });
    await bert.connect({ jid: `${b.userJid}/laptop`, password: b.password, host: '127.0.0.1', port: b.c2sPort, ca_file: b.caCertFile });
  }, T);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await killAll();
    removeTmpDirs();
  });

  const joinAs = async (user: SlixmppClient, nick: string) => {
    const from = user.mark();
    await user.request({ cmd: 'muc_join', to: `${ROOM}/${nick}` });
    return user.waitForEvent<Presence>((e) => e.event === 'presence' && e.from === `${ROOM}/${nick.toLowerCase()}` && e.type === 'available', W, from);
  };
  const heard = (user: SlixmppClient, fromNick: string, body: string, from: number) =>
    user.nextMessage((m) => m.type === 'groupchat' && m.from === `${ROOM}/${fromNick}` && m.body === body, W, from);

  it('A hosts the room and joins it; B adds it by share string and joins; a gnutls-cli member joins; everyone reads everyone', async () => {
    onTestFailed(() => console.log(`A's log:\n${a.log.tail(60)}\nB's log:\n${b.log.tail(40)}`));
    let from = anna.mark();
    await anna.send('localhost', 'room host party');
    const hosted = await anna.nextMessage((m) => m.from === 'localhost' && /^Hosting room party/.test(m.body), W, from);
    share = /tlsim:\/\/[0-9a-f]{64}@[^\s]+/.exec(hosted.body)![0];
    port = Number(share.split(':').at(-1));
    await joinAs(anna, 'Anna');

    from = bert.mark();
    await bert.send('localhost', `room add ${share} party`);
    await bert.nextMessage((m) => m.from === 'localhost' && /^Added room party/.test(m.body), W, from);
    await joinAs(bert, 'Bert');
    await anna.waitForEvent((e) => e.event === 'presence' && e.from === `${ROOM}/bert` && e.type === 'available', W);

    carolId = await makeOpensslIdentity(tmpDir('carol'));
    carol = await joinChat({ port }, carolId, 'carol');
    // carol is told who was there before her: anna and bert, after her own join line.
    await carol.waitFor(/^\d\d:\d\d \* anna\[\d+\] joins$/m);
    await carol.waitFor(/^\d\d:\d\d \* bert\[\d+\] joins$/m);

    from = anna.mark();
    const fromB = bert.mark();
    await carol.member.type('hello all\n');
    await heard(anna, 'carol', 'hello all', from);
    await heard(bert, 'carol', 'hello all', fromB);

    await anna.send(ROOM, 'hi from A', { type: 'groupchat' });
    await heard(bert, 'anna', 'hi from A', fromB);
    await carol.waitFor(new RegExp(`^${MINUTE} anna\\[\\d+\\]: hi from A$`, 'm'));
    await bert.send(ROOM, 'hi from B', { type: 'groupchat' });
    await heard(anna, 'bert', 'hi from B', from);
    await carol.waitFor(new RegExp(`^${MINUTE} bert\\[\\d+\\]: hi from B$`, 'm'));
    // Each user's own line comes back to it once, from the gateway, never twice.
    await heard(anna, 'anna', 'hi from A', from);
    expect(anna.events.filter((e) => e.event === 'message' && e.body === 'hi from A')).toHaveLength(1);
  }, T);

  it('a late member reads the last lines said; `room members` shows who is there', async () => {
    const dave = await joinChat({ port }, await makeOpensslIdentity(tmpDir('dave')), 'dave');
    await dave.waitFor(new RegExp(`^${MINUTE} bert\\[\\d+\\]: hi from B$`, 'm'));
    expect(dave.member.received()).toMatch(new RegExp(`^${MINUTE} carol\\[\\d+\\]: hello all$`, 'm'));
    const from = anna.mark();
    await anna.send('localhost', 'room members party');
    const list = await anna.nextMessage((m) => m.from === 'localhost' && /^Room party/.test(m.body), W, from);
    for (const who of ['anna', 'bert', 'carol', 'dave']) expect(list.body).toMatch(new RegExp(`In the room now: .*${who}\\[\\d+\\]`));
    await dave.member.proc.kill();
    await anna.waitForEvent((e) => e.event === 'presence' && e.from === `${ROOM}/dave` && e.type === 'unavailable', W, from);
  }, T);

  it('a member who floods is cut; the others are told it left and go on chatting', async () => {
    onTestFailed(() => console.log(`A's log:\n${a.log.tail(80)}`));
    let from = anna.mark();
    const flood = await joinChat({ port }, await makeOpensslIdentity(tmpDir('flood')), 'flood');
    await anna.waitForEvent((e) => e.event === 'presence' && e.from === `${ROOM}/flood` && e.type === 'available', W, from);
    await flood.member.type(Array.from({ length: 60 }, (_, i) => `spam ${i}`).join('\n') + '\n');
    await flood.waitFor(/You are sending too fast: disconnected\./);
    await anna.waitForEvent((e) => e.event === 'presence' && e.from === `${ROOM}/flood` && e.type === 'unavailable', W, from);
    expect(anna.events.slice(from).filter((e) => e.event === 'message' && /^spam /.test(e.body ?? '')).length).toBeLessThan(25);
    from = anna.mark();
    await carol.member.type('after the flood\n');
    await heard(anna, 'carol', 'after the flood', from);
    await bert.send(ROOM, 'me too', { type: 'groupchat' });
    await heard(anna, 'bert', 'me too', from);
  }, T);

  it('an invitation (XEP-0045 mediated, or XEP-0249 direct) lets a contact into a members-only room: the peer reads the share string and comes in by it', async () => {
    const erinId = await makeOpensslIdentity(tmpDir('erin'));
    const erin = await gnutlsServ(erinId);
    let from = anna.mark();
    await anna.send('localhost', `add tlsim://${erinId.fingerprint}@127.0.0.1:${erin.port} Erin`);
    const erinJid = `${erinId.fingerprint}@peers.localhost`;
    await anna.waitForEvent((e) => e.event === 'presence' && e.from.split('/')[0] === erinJid && e.type === 'available', W, from);
    from = anna.mark();
    await anna.send('localhost', 'room host club members');
    const hosted = await anna.nextMessage((m) => m.from === 'localhost' && /^Hosting room club \(members only\)/.test(m.body), W, from);
    const clubPort = Number(/tlsim:\/\/[0-9a-f]{64}@[^\s]+:(\d+)/.exec(hosted.body)![1]);
    // Before the invitation erin is a stranger there.
    const early = await gnutlsCli(erinId, clubPort);
    await early.proc.waitFor(/I don't recognize you\./, W, { stream: 'stdout' });
    await anna.request({ cmd: 'muc_invite', room: 'club@conference.localhost', to: erinJid, reason: 'our book club' });
    await erin.proc.waitFor(/me invites you to the chat room "club": our book club\. Join it with its share string tlsim:\/\/[0-9a-f]{64}@127\.0\.0\.1:\d+ \(you are "erin" there\)\./, W);
    const inside = await joinChat({ port: clubPort }, erinId, undefined);
    expect(inside.nick).toMatch(/^erin\[\d+\]$/);
    // The same through XEP-0249 (Gajim's, Dino's and Conversations' way): a direct invitation to the contact.
    await anna.request({ cmd: 'direct_invite', to: erinJid, room: ROOM });
    await erin.proc.waitFor(/me invites you to the chat room "party"\. Join it with its share string tlsim:\/\/[0-9a-f]{64}@127\.0\.0\.1:\d+ \(you are "erin" there\)\./, W);
    // Inviting a JID that is not a contact is refused with a reason, and nothing is sent.
    from = anna.mark();
    await anna.request({ cmd: 'muc_invite', room: 'club@conference.localhost', to: `${'ab'.repeat(32)}@peers.localhost` });
    const refused = await anna.nextMessage((m) => m.type === 'error' && m.from === 'club@conference.localhost', W, from);
    expect(refused).toBeTruthy();
  }, T);

  it('the room keeps its port, identity and members across a restart of A: carol comes back without being asked', async () => {
    const dataDir = a.dataDir;
    await a.stop();
    a = await startInProcessGateway({ dataDir });
    await carol.member.proc.kill();
    const back = await joinChat({ port }, carolId, undefined);
    expect(back.nick).toMatch(/^carol\[\d+\]$/);
    expect(back.member.received()).not.toContain('Enter your alias');
  }, T);
});

// XEP-0198 dialogues: Pidgin-style acks, resumption after a dropped connection, expiry,
// and what happens to messages a client never acknowledged.
import { afterEach, describe, expect, it } from 'vitest';
import type { Element } from '../../gateway/xmpp/xml/element.js';
import { x } from '../../gateway/xmpp/xml/element.js';
import type { PeerId, SendOutcome, SendTextOptions } from '../../gateway/bridge/contract.js';
import { FakePeerNetwork, randomPeerId } from '../../gateway/bridge/fake-peer-network.js';
import { PING, probeFeature, testPing } from '../support/core-features.js';
import { handledByClient, startTestGateway, type TestGateway, type TestGatewayOptions } from '../support/xmpp-harness.js';

const SM = 'urn:xmpp:sm:3';
const isSm = (name: string) => (el: Element) => el.getNS() === SM && el.name === name;
const chat = (body: string) => x('message', { to: 'me@localhost', type: 'chat', from: 'localhost' }, x('body', null, body));

let gw: TestGateway;
afterEach(() => gw?.stop());

async function gateway(opts: TestGatewayOptions = {}) {
  const probe = probeFeature();
  gw = await startTestGateway({ ...opts, features: [testPing, probe.feature] });
  return probe.ctx();
}

const resumeStream = (previd: string, h: number) => gw.resume(previd, h);

describe('stream management', () => {
  it('Pidgin style: <enable/> without resume, <r/> after every stanza answered each time', async () => {
    await gateway();
    const c = await gw.login({ sm: true });
    const enabled = c.received.find(isSm('enabled'))!;
    expect(enabled.attrs.resume).toBeUndefined();
    expect(enabled.attrs.id).toBeUndefined();
    const hs: number[] = [];
    for (let i = 0; i < 3; i++) {
      c.send(`<iq type='get' id='p${i}'>${PING}</iq><r xmlns='${SM}'/>`);
      await c.next((el) => el.attrs.id === `p${i}`);
      hs.push(Number((await c.next(isSm('a'))).attrs.h));
    }
    // Presence and the login sync ping came first: 2, then one more per ping.
    expect(hs).toEqual([3, 4, 5]);
    c.send(`<a xmlns='${SM}' h='${handledByClient(c)}'/>`);
    expect((await c.iq(PING)).attrs.type).toBe('result');
  });

  it('resumes after a dropped connection and loses nothing delivered while detached', async () => {
    const ctx = await gateway();
    const c = await gw.login({ sm: 'resume', resource: 'phone' });
    const enabled = c.received.find(isSm('enabled'))!;
    expect(enabled.attrs).toMatchObject({ resume: 'true', max: '300' });
    expect(ctx.deliver(chat('one'))).toBe(1);
    await c.next((el) => el.name === 'message');
    const h = handledByClient(c);
    c.kill();
    expect(ctx.deliver(chat('two'))).toBe(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(ctx.deliver(chat('three'))).toBe(1);
    const { c: back, answer } = await resumeStream(c.smId!, h);
    expect(answer.name).toBe('resumed');
    expect(answer.attrs).toMatchObject({ previd: c.smId, h: '2' }); // presence and the sync ping
    const bodies = [(await back.next((el) => el.name === 'message')).getChildText('body'), (await back.next((el) => el.name === 'message')).getChildText('body')];
    expect(bodies).toEqual(['two', 'three']);
    await back.expectNothing(200, (el) => el.name === 'message');
    expect((await back.iq(PING)).attrs.type).toBe('result');
    expect(ctx.sessions().map((s) => s.jid.toString())).toEqual(['me@localhost/phone']);
  });

  it('fails an unknown previd with item-not-found, and the client can bind instead', async () => {
    await gateway();
    const { c, answer } = await resumeStream('nope', 0);
    expect(answer.name).toBe('failed');
    expect(answer.getChild('item-not-found', 'urn:ietf:params:xml:ns:xmpp-stanzas')).toBeDefined();
    const bind = await c.iq(`<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>`, { type: 'set' });
    expect(bind.attrs.type).toBe('result');
  });

  it('after the resume window, the session ends and its unacked message goes to the undelivered hook', async () => {
    const ctx = await gateway({ server: { smResumeTimeoutMs: 200 } });
    const undelivered: string[] = [];
    const closed: string[] = [];
    ctx.on('message-undelivered', (m) => undelivered.push(m.getChildText('body') ?? ''));
    ctx.on('session-closed', (s) => closed.push(s.jid.resource));
    const c = await gw.login({ sm: 'resume', resource: 'gone' });
    c.kill();
    expect(ctx.deliver(chat('while away'))).toBe(1);
    await expect.poll(() => closed, { timeout: 3000 }).toEqual(['gone']);
    expect(undelivered).toEqual(['while away']);
    const { answer } = await resumeStream(c.smId!, 0);
    expect(answer.name).toBe('failed');
  });

  it('hands unacked messages of an ended session to the user\'s other available session', async () => {
    const ctx = await gateway();
    const desk = await gw.login({ resource: 'desk' });
    const pidgin = await gw.login({ resource: 'pidgin', sm: true });
    ctx.deliver(x('message', { to: 'me@localhost/pidgin', type: 'chat', from: 'localhost' }, x('body', null, 'unacked')));
    await pidgin.next((el) => el.name === 'message');
    pidgin.kill(); // no <a/> was ever sent, and Pidgin's SM cannot resume
    const handed = await desk.next((el) => el.name === 'message');
    expect(handed.getChildText('body')).toBe('unacked');
  });

  it('asks for an ack after sending stanzas, one <r/> at a time, so the unacked queue stays short', async () => {
    const ctx = await gateway();
    const c = await gw.login({ sm: 'resume' });
    await c.next(isSm('r')); // for the login's own replies
    c.send(`<a xmlns='${SM}' h='${handledByClient(c)}'/>`);
    ctx.deliver(chat('a'));
    ctx.deliver(chat('b'));
    await c.next(isSm('r'));
    await c.expectNothing(200, isSm('r')); // no second request while one is open
    c.send(`<a xmlns='${SM}' h='${handledByClient(c)}'/>`);
    ctx.deliver(chat('c'));
    await c.next(isSm('r'));
  });

  it('closes a stream whose client acknowledges more than was sent', async () => {
    await gateway();
    const c = await gw.login({ sm: true });
    c.send(`<a xmlns='${SM}' h='1000'/>`);
    expect(await c.closed).toEqual({ streamError: 'undefined-condition' });
  });

  it('keeps a resumable session across server stop and start in the same process', async () => {
    const ctx = await gateway();
    const c = await gw.login({ sm: 'resume', resource: 'kept' });
    await gw.server.stop();
    expect(await c.closed).toEqual({ streamError: 'system-shutdown' });
    await gw.server.start();
    expect(ctx.deliver(chat('after restart'))).toBe(1);
    const { c: back, answer } = await resumeStream(c.smId!, handledByClient(c));
    expect(answer.name).toBe('resumed');
    expect((await back.next((el) => el.name === 'message')).getChildText('body')).toBe('after restart');
  });

  it('acknowledges a message (<a/>) only once the network has kept it: a store write not finished is not counted', async () => {
    // The network's sendText resolves once the message is on disk (the outbox's commit); here it waits for the test.
    let keep!: () => void;
    class SlowDisk extends FakePeerNetwork {
      override async sendText(id: PeerId, text: string, opts?: SendTextOptions): Promise<SendOutcome> {
        await new Promise<void>((r) => (keep = r));
        return super.sendText(id, text, opts);
      }
    }
    const peer = randomPeerId();
    // A short handler timeout: the stream moves on to the <r/> while the message is still being kept.
    gw = await startTestGateway({ network: new SlowDisk([{ id: peer, name: 'peer', online: true }]), server: { timeouts: { headerMs: 30_000, negotiationMs: 30_000, tlsHandshakeMs: 30_000, handlerMs: 200 } } });
    const c = await gw.login({ sm: true });
    c.send(`<r xmlns='${SM}'/>`);
    const before = Number((await c.next(isSm('a'))).attrs.h);
    c.send(`<message to='${peer}@peers.localhost' type='chat' id='m1'><body>kept?</body></message><r xmlns='${SM}'/>`);
    expect(Number((await c.next(isSm('a'))).attrs.h)).toBe(before);
    keep();
    await expect.poll(() => gw.fake!.sent.map((m) => m.text)).toEqual(['kept?']);
    // Counted once its handler is done, which may be a turn after the network took it: asked until it is.
    await expect
      .poll(async () => {
        c.send(`<r xmlns='${SM}'/>`);
        return Number((await c.next(isSm('a'))).attrs.h);
      })
      .toBe(before + 1);
  });

  it('group commit: <a/> counts a message only once its commit is done, and a failed commit ends the session (no resumption)', async () => {
    // The network's store commits once per loop turn; here the test decides when (and whether) it succeeds.
    class TurnCommit extends FakePeerNetwork {
      open = false;
      readonly waiting: Array<(err?: Error) => void> = [];
      override async sendText(id: PeerId, text: string, opts?: SendTextOptions): Promise<SendOutcome> {
        this.open = true;
        return super.sendText(id, text, opts);
      }
      whenCommitted(cb: (err?: Error) => void): void {
        if (this.open) this.waiting.push(cb);
        else cb();
      }
      commit(err?: Error): void {
        this.open = false;
        for (const cb of this.waiting.splice(0)) cb(err);
      }
    }
    const peer = randomPeerId();
    const net = new TurnCommit([{ id: peer, name: 'peer', online: true }]);
    gw = await startTestGateway({ network: net });
    const c = await gw.login({ sm: 'resume' });
    c.send(`<r xmlns='${SM}'/>`);
    const before = Number((await c.next(isSm('a'))).attrs.h);
    const acks = () => c.received.filter(isSm('a')).length;
    const seen = acks();
    c.send(`<message to='${peer}@peers.localhost' type='chat' id='m1'><body>one</body></message><r xmlns='${SM}'/><iq type='get' id='after'>${PING}</iq>`);
    await c.next((el) => el.attrs.id === 'after');
    // Handled (the ping behind it was answered), not yet committed: no <a/> for it yet.
    expect(acks()).toBe(seen);
    net.commit();
    expect(Number((await c.next(isSm('a'))).attrs.h)).toBe(before + 1);

    c.send(`<message to='${peer}@peers.localhost' type='chat' id='m2'><body>two</body></message><r xmlns='${SM}'/>`);
    await expect.poll(() => net.waiting.length).toBe(1);
    net.commit(new Error('database or disk is full'));
    expect(await c.closed).toEqual({ streamError: 'internal-server-error' });
    // Its h would count the lost message: the session is gone, the client binds anew (and sends it again).
    const { answer } = await resumeStream(c.smId!, 0);
    expect(answer.name).toBe('failed');
  });
});

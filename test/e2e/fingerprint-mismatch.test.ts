// End to end: the user adds peer X at an address where another peer, Y (a real openssl s_server),
// answers. The gateway must drop Y at the handshake, tell the user through the gateway contact with
// both fingerprints, and never hand Y a byte of the messages meant for X.
import { expect, it } from 'vitest';
import type { XmppJsClient } from '../../clients/xmppjs/client.js';
import { makeOpensslIdentity, tmpDir } from '../support/identities.js';
import { interopSuite } from '../support/tools.js';
import type { E2eGateway } from './support/gateway.js';
import { purpleSuite } from './support/purple-suite.js';
import { opensslServer } from './support/reference-peer.js';
import type { PurpleUser } from './support/users.js';

const T = 120_000;

interopSuite('e2e: the wrong peer at a known address', ['bitlbee', 'openssl'], () => {
  let gw: E2eGateway;
  let user: PurpleUser;
  let observer: XmppJsClient;
  const { onFailure } = purpleSuite((s) => ({ gw, user, observer } = s), {}, T);

  it('adding tlsim://<X>@<where Y listens>: a warning from the gateway contact naming both fingerprints, X never online, Y gets nothing', async (ctx) => {
    onFailure(ctx);
    const x = await makeOpensslIdentity(tmpDir('peer-x'), { name: 'x' });
    const y = await makeOpensslIdentity(tmpDir('peer-y'), { name: 'y' });
    const ySrv = await opensslServer(y);
    const xJid = gw.jidOf(x.fingerprint);
    const address = `127.0.0.1:${ySrv.port}`;
    const mismatchDial = (l: { msg: string; err?: unknown }): boolean =>
      l.msg === 'dial failed' && String(l.err).includes(`presented fingerprint ${y.fingerprint}`) && String(l.err).includes(x.fingerprint);

    const from = user.mark();
    const logFrom = gw.log.mark();
    await user.command(`add tlsim://${x.fingerprint}@${address} Xavier`, /^Added Xavier/);
    const warning = await user.waitPrivmsg(user.gatewayNick, /Warning/, 30_000, from);
    expect(warning).toContain(x.fingerprint);
    expect(warning).toContain(y.fingerprint);
    expect(warning).toContain(address);
    expect(warning).toContain('Xavier');
    await gw.log.waitFor(mismatchDial, 30_000, logFrom);

    // A message for X waits in the queue and makes the gateway dial again: Y must not get it.
    const again = gw.log.mark();
    await observer.send(xJid, 'a secret meant for Xavier only');
    const queued = await observer.nextMessage((m) => m.from === gw.userJid.split('@')[1] && /Not sent yet/.test(m.body), 30_000);
    expect(queued.body).toMatch(/Xavier is offline/);
    // The dial the message started, and one more from the redial timer.
    await expect.poll(() => gw.log.lines.slice(again).filter(mismatchDial).length, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);

    // s_server -brief prints only application data on stdout: nothing came.
    expect(ySrv.proc.output('stdout').trim()).toBe('');
    expect(ySrv.proc.output()).not.toContain('secret');
    // X was never shown online; the warning was given once, not at every redial.
    expect((await user.irc.contacts()).some((c) => c.jid === xJid)).toBe(false);
    expect(user.privmsgsFrom(user.gatewayNick, from).filter((t) => /Warning/.test(t))).toHaveLength(1);
    expect(gw.running.status().queued).toBe(1);
  }, T);
});

// Kill -9 with a reference peer (issue 16 §2): the receiver is gnutls-serv (GnuTLS, the library of the reference
// daemon), which reads plain lines and acknowledges nothing. The gateway is killed while its queue holds messages
// for the peer (the peer offline), and then at random points while it writes to the peer. Every message the queue
// accepted (acknowledged to the user's client by stream management) reaches the peer. The compat wire has no
// acknowledgements: a line written just before a kill, whose queue entry the kill kept, is written again after the
// restart. Those duplicates are counted and printed, not hidden.
import { afterAll, describe, expect, it } from 'vitest';
import { ResendingSender } from '../../clients/xmppjs/resending-sender.js';
import { useBuiltCli } from '../support/cli-program.js';
import { makeOpensslIdentity, removeTmpDirs, tmpDir } from '../support/identities.js';
import { KilledGateway, sendWithKills, sleep, until } from '../support/killed-gateway.js';
import { freePort } from '../support/net.js';
import { killAll } from '../support/proc.js';
import { interopSuite } from '../support/tools.js';
import { gnutlsServ, type ListeningPeer } from './support/reference-peer.js';

const CLI = useBuiltCli('crash-ref');
const QUEUED = 100;
const STREAMED = 400;
const KILLS = 6;

afterAll(async () => {
  await killAll();
  removeTmpDirs();
});

/** How often gnutls-serv --echo printed each message ("received cmd: crash <i>", on stderr), by number. */
function linesAt(peer: ListeningPeer): Map<number, number> {
  const seen = new Map<number, number>();
  for (const m of peer.proc.output('stderr').matchAll(/received cmd: crash (\d+)/g)) seen.set(Number(m[1]), (seen.get(Number(m[1])) ?? 0) + 1);
  return seen;
}

interopSuite('kill -9 with a reference peer', ['gnutls-serv', 'openssl'], () => {
  describe('gnutls-serv as the peer', () => {
    it(`${QUEUED} queued while the peer is offline and the gateway killed, then ${STREAMED} with ${KILLS} kills: nothing the queue accepted is lost`, async () => {
      const id = await makeOpensslIdentity(tmpDir('crash-ref-peer'));
      const port = await freePort();
      const a = await KilledGateway.start('ref', CLI);
      const sender = new ResendingSender(() => a.clientOptions('crash-sender'));
      let peer: ListeningPeer | undefined;
      try {
        await a.cli(['peer', 'add', `tlsim://${id.fingerprint}@127.0.0.1:${port}`, 'Ref']);
        await sender.connect();
        const to = `${id.fingerprint}@${a.gw.status.peerDomain}`;
        // The peer is offline: everything waits in the queue, on disk, and the gateway dies with it there.
        const queued = await sendWithKills(sender, to, QUEUED, 0, async () => {}, false);
        await a.killAndRestart();
        await sender.connect();
        peer = await gnutlsServ(id, port);
        await until(() => queued.every((i) => linesAt(peer!).has(i)), 'every queued message at the peer');
        // Now while it writes to the peer: killed at random points, restarted at once, the client resending.
        const kill = async () => {
          await sleep(Math.random() * 30);
          await a.killAndRestart();
          await sender.connect();
        };
        const streamed = await sendWithKills(sender, to, STREAMED, KILLS, kill, true, QUEUED);
        const accepted = streamed.filter((i) => i >= QUEUED);
        await until(() => accepted.every((i) => linesAt(peer!).has(i)), 'every accepted message at the peer');
        const seen = linesAt(peer);
        const lost = [...queued, ...accepted].filter((i) => !seen.has(i));
        const duplicates = [...seen.values()].filter((n) => n > 1).length;
        const { integrity } = await a.killAndCheck('out');
        console.log(`reference crash counts: ${JSON.stringify({ queued: queued.length, streamed: accepted.length, kills: KILLS + 1, lost: lost.length, duplicates, integrity, meanRestartMs: a.meanRestartMs })}`);
        expect(lost).toEqual([]);
        expect(integrity).toBe('ok');
      } catch (err) {
        throw new Error(`${(err as Error).message}\npeer:${peer?.proc.tails(3000)}\ngateway:${a.gw.proc.tails(3000)}`);
      } finally {
        await sender.stop();
        await a.stop();
        await peer?.proc.kill();
      }
    }, 240_000);
  });
});

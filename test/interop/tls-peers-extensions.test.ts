// Real reference-style peers (gnutls-cli, openssl s_client) offer no ALPN: what the gateway/3 extension carries
// (message ids, receipts and markers, chat states) never reaches them; they get exactly the plain lines of the
// messages, nothing for states and markers, and are never taken for gateways (Contact.gateway false, kept).
import pino from 'pino';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { generateIdentity, type Identity, type PeerManager } from '../../bridge-protocol/index.js';
import { TlsimNetwork } from '../../gateway/bridge/tlsim-network.js';
import { openStore, type Store } from '../../gateway/store/index.js';
import { makeOpensslIdentity, removeTmpDirs, tmpDir, type OpensslIdentity } from '../support/identities.js';
import { freePort } from '../support/net.js';
import { managerPool } from '../support/peer-managers.js';
import { killAll, spawnProc, type Proc } from '../support/proc.js';
import { RecordingSink } from '../support/recording-sink.js';
import { interopSuite } from '../support/tools.js';

const WAIT_MS = 15_000;
const TEST_MS = 60_000;

interface RefDialer {
  name: string;
  start(id: OpensslIdentity, port: number): Promise<Proc>;
}

const gnutlsCli: RefDialer = {
  name: 'gnutls-cli',
  async start(id, port) {
    const proc = await spawnProc('gnutls-cli', ['--insecure', '--x509keyfile', id.keyFile, '--x509certfile', id.certFile, '--port', String(port), '127.0.0.1'], { cwd: tmpDir('run') });
    await proc.waitFor(/Simple Client Mode/, WAIT_MS);
    return proc;
  },
};

const opensslClient: RefDialer = {
  name: 'openssl s_client',
  start: (id, port) => spawnProc('openssl', ['s_client', '-quiet', '-key', id.keyFile, '-cert', id.certFile, '-connect', `127.0.0.1:${port}`], { cwd: tmpDir('run') }),
};


interopSuite('reference peers and the gateway/3 extension (gnutls-cli, openssl s_client)', ['openssl', 'gnutls-cli'], () => {
  let me: Identity;
  let peer: OpensslIdentity;
  const { manager, stopAll } = managerPool();

  beforeAll(async () => {
    me = await generateIdentity();
    peer = await makeOpensslIdentity(tmpDir('peer'));
  });
  afterEach(async () => {
    await stopAll();
    await killAll();
  });
  afterAll(removeTmpDirs);

  for (const dialer of [gnutlsCli, opensslClient]) {
    it(`${dialer.name} receives only the plain lines of messages: no id, no frame, nothing for states or markers`, async () => {
      const m: PeerManager = manager(me);
      await m.start();
      const up = new Promise<{ protocol: string; gatewayPeer: boolean }>((resolve) => m.once('link-up', resolve));
      const proc = await dialer.start(peer, m.addresses()[0]!.port);
      expect(await up).toMatchObject({ protocol: 'plain', gatewayPeer: false });
      const mark = proc.mark();
      expect(m.sendChatState(peer.fingerprint, 'composing')).toBe(false);
      await m.sendMessage(peer.fingerprint, { id: 'link-id-1', text: 'first message', receipt: true, markable: true });
      expect(await m.sendMarker(peer.fingerprint, 'displayed', 'their-id')).toBe(false);
      expect(m.sendChatState(peer.fingerprint, 'paused')).toBe(false);
      await m.send(peer.fingerprint, 'second message');
      await proc.waitFor(/second message\n/, WAIT_MS, { stream: 'stdout', since: mark });
      // Everything the program printed of what we sent: the two lines, byte for byte, and nothing between.
      expect(proc.output('stdout', mark)).toBe('first message\nsecond message\n');

      // What it types still arrives as plain text, without an id.
      const got = new Promise<unknown>((resolve) => m.once('message', (_fp, msg) => resolve(msg)));
      await proc.write('hello from a reference peer\r\n');
      expect(await got).toEqual({ text: 'hello from a reference peer', truncated: false });
    }, TEST_MS);
  }

  it('the bridge: a reference peer is no gateway (kept across a restart); markers and chat states for it write nothing', async () => {
    const dir = tmpDir('bridge');
    const port = await freePort();
    const log = pino({ level: 'silent' });
    const open = async (): Promise<{ net: TlsimNetwork; sink: RecordingSink; store: Store }> => {
      const store = openStore(dir);
      const net = new TlsimNetwork({ store, accountId: store.accounts.ensure('me@localhost'), identity: me, log, listen: { host: '127.0.0.1', port }, unknownPolicy: 'accept' });
      const sink = new RecordingSink();
      await net.start(sink);
      return { net, sink, store };
    };
    let gw = await open();
    try {
      const proc = await opensslClient.start(peer, port);
      await gw.sink.until(() => gw.sink.online.has(peer.fingerprint), 'the reference peer online');
      expect(gw.net.getContact(peer.fingerprint)).toMatchObject({ online: true, gateway: false });
      const mark = proc.mark();
      gw.net.sendChatState(peer.fingerprint, 'composing');
      await gw.net.sendText(peer.fingerprint, 'from the bridge', { xmppId: 'c-1', receipt: true, markable: true });
      gw.net.sendMarker(peer.fingerprint, 'displayed', 'anything');
      gw.net.sendMarker(peer.fingerprint, 'receipt', 'anything');
      gw.net.sendChatState(peer.fingerprint, 'active');
      await gw.net.sendText(peer.fingerprint, 'last line');
      await proc.waitFor(/last line\n/, WAIT_MS, { stream: 'stdout', since: mark });
      expect(proc.output('stdout', mark)).toBe('from the bridge\nlast line\n');
      // Nothing waits for it either: a marker for a reference peer is not kept for later.
      expect(gw.store.markers.peek(gw.store.accounts.ensure('me@localhost'), peer.fingerprint)).toEqual([]);
      await proc.write('a line typed by the peer\r\n');
      await gw.sink.until(() => gw.sink.texts.length === 1, 'the peer line');
      expect(gw.sink.texts[0]!.id).toBeUndefined();
      expect(gw.sink.texts[0]!.requests).toBeUndefined();
    } finally {
      await gw.net.stop();
      gw.store.close();
    }
    await killAll();
    // After a restart, offline: still no gateway.
    gw = await open();
    try {
      expect(gw.net.getContact(peer.fingerprint)).toMatchObject({ online: false, gateway: false });
    } finally {
      await gw.net.stop();
      gw.store.close();
    }
  }, TEST_MS);
});

// TorService's dynamic onion services against a scripted tor: publish/unpublish while up and while away, re-added after
// a dropped control connection, published per service, a refused one only warned about (control-spec §3.27, §3.38).
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addOnionKeyBlob, generateOnionKey, type OnionKey } from '../../bridge-protocol/tor/onion-key.js';
import { TorService, type TorWarning } from '../../bridge-protocol/tor/service.js';
import { onCrlfLines } from '../support/net.js';
import { waitUntil } from '../support/proc.js';

const own = generateOnionKey();
const [u1, u2, u3, refused] = [generateOnionKey(), generateOnionKey(), generateOnionKey(), generateOnionKey()];
const byBlob = new Map([own, u1, u2, u3, refused].map((k) => [addOnionKeyBlob(k), k]));
const short = new Map([
  [own.serviceId, 'own'],
  [u1.serviceId, 'u1'],
  [u2.serviceId, 'u2'],
  [u3.serviceId, 'u3'],
  [refused.serviceId, 'refused'],
]);

/** What the fake tor was asked, with keys and service ids shortened to names: "ADD_ONION u1 4242,127.0.0.1:1001". */
let commands: string[] = [];
/** Every port of every ADD_ONION, per command: "own 18765,127.0.0.1:1000 80,127.0.0.1:2000". */
let addPorts: string[] = [];
const sockets = new Set<net.Socket>();
let tor: net.Socket | undefined;
/** DEL_ONION gets no answer while set: the connection is then dropped under it. */
let holdDel = false;

const server = net.createServer((sock) => {
  sockets.add(sock);
  tor = sock;
  sock.on('error', () => {});
  onCrlfLines(sock, (line) => {
    const [cmd, ...args] = line.split(' ');
    if (cmd === 'ADD_ONION') {
      const key = byBlob.get(args[0]!)!;
      commands.push(`ADD_ONION ${short.get(key.serviceId)} ${args[1]!.replace(/^Port=/, '')}`);
      addPorts.push([short.get(key.serviceId), ...args.filter((a) => a.startsWith('Port=')).map((a) => a.slice(5))].join(' '));
      if (key === refused) sock.write('550 Onion address collision\r\n');
      else sock.write(`250-ServiceID=${key.serviceId}\r\n250 OK\r\n`);
      return;
    }
    if (cmd === 'DEL_ONION') {
      commands.push(`DEL_ONION ${short.get(args[0]!) ?? args[0]}`);
      if (!holdDel) sock.write('250 OK\r\n');
      return;
    }
    if (cmd !== 'QUIT') commands.push(cmd!);
    if (line === 'PROTOCOLINFO 1') sock.write('250-PROTOCOLINFO 1\r\n250-AUTH METHODS=NULL\r\n250 OK\r\n');
    else if (line === 'GETINFO status/bootstrap-phase') sock.write('250-status/bootstrap-phase=NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"\r\n250 OK\r\n');
    else if (line === 'GETINFO net/listeners/socks') sock.write('250-net/listeners/socks="127.0.0.1:9050"\r\n250 OK\r\n');
    else sock.write('250 OK\r\n');
  });
});
let port = 0;

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
});

const hsDesc = (action: string, key: OnionKey) => tor!.write(`650 HS_DESC ${action} ${key.serviceId} UNKNOWN $AAAA~r1${action === 'UPLOAD' ? ' descid' : ''}\r\n`);
const spec = (key: OnionKey, listener: number) => ({ key, target: `127.0.0.1:${listener}`, virtualPort: 4242 });

function service(withOwn: boolean): { svc: TorService; warnings: TorWarning[]; published: string[] } {
  const svc = new TorService({
    mode: 'control',
    attach: { endpoint: { host: '127.0.0.1', port } },
    ...(withOwn && { onion: { key: own, target: '127.0.0.1:1000' } }),
    restart: { initialMs: 50, maxMs: 200 },
  });
  const warnings: TorWarning[] = [];
  const published: string[] = [];
  svc.on('warning', (w: TorWarning) => warnings.push(w));
  svc.on('published', (o: string) => published.push(o));
  return { svc, warnings, published };
}

it('publish before start, publish and unpublish while up, re-added after the control connection dropped; published per service', async () => {
  commands = [];
  const { svc, published } = service(true);
  await svc.publish(spec(u1, 1001)); // tor not started: only remembered
  expect(commands).toEqual([]);
  await svc.start();
  await waitUntil(() => svc.status().state === 'ready', 5_000);
  // tor is bootstrapped already, so the SOCKS GETINFO may come before the onions: both before the network matters.
  expect(commands.filter((c) => c !== 'GETINFO')).toEqual(['PROTOCOLINFO', 'AUTHENTICATE', 'SETEVENTS', 'ADD_ONION own 18765,127.0.0.1:1000', 'ADD_ONION u1 4242,127.0.0.1:1001']);

  commands = [];
  await svc.publish(spec(u2, 1002));
  await svc.publish(spec(u2, 1002)); // the same again: nothing to do
  expect(commands).toEqual(['ADD_ONION u2 4242,127.0.0.1:1002']);
  expect(svc.onionServiceIds()).toEqual([own.serviceId, u1.serviceId, u2.serviceId]);

  hsDesc('UPLOAD', u2);
  hsDesc('UPLOADED', u2);
  hsDesc('UPLOADED', u2); // a second directory: said once
  hsDesc('UPLOADED', own);
  await waitUntil(() => published.length === 2, 5_000);
  expect(published).toEqual([`${u2.serviceId}.onion`, `${own.serviceId}.onion`]);
  expect(svc.isPublished(u2.serviceId)).toBe(true);
  expect(svc.isPublished(u1.serviceId)).toBe(false);
  expect(svc.status().onion).toBe(`${own.serviceId}.onion`); // status names ours only

  commands = [];
  await svc.unpublish(u1.serviceId);
  expect(commands).toEqual([`DEL_ONION u1`]);
  hsDesc('UPLOADED', u1); // no longer ours
  await new Promise((r) => setTimeout(r, 50));
  expect(published).toHaveLength(2);

  // A new listener behind the same onion: withdrawn and added again.
  commands = [];
  await svc.publish(spec(u2, 2002));
  expect(commands).toEqual(['DEL_ONION u2', 'ADD_ONION u2 4242,127.0.0.1:2002']);

  // The control connection drops (tor restarted): back with ours and u2 again, not u1.
  commands = [];
  const first = svc.control!;
  first.destroy();
  await waitUntil(() => svc.control !== undefined && svc.control !== first && svc.status().state === 'ready', 5_000);
  expect(commands.filter((c) => c.startsWith('ADD_ONION'))).toEqual(['ADD_ONION own 18765,127.0.0.1:1000', 'ADD_ONION u2 4242,127.0.0.1:2002']);
  expect(svc.isPublished(u2.serviceId)).toBe(false); // a new tor session: not yet
  hsDesc('UPLOADED', u2);
  await waitUntil(() => published.length === 3, 5_000);
  expect(published[2]).toBe(`${u2.serviceId}.onion`);

  await svc.stop();
  commands = [];
  await svc.unpublish(u2.serviceId); // tor stopped: only forgotten
  expect(commands).toEqual([]);
  expect(svc.onionServiceIds()).toEqual([own.serviceId]);
});

it('without an onion of its own; a refused onion is a warning naming it and the others still come up; publish() says a refusal while up', async () => {
  commands = [];
  const { svc, warnings } = service(false);
  expect(svc.status().onion).toBeUndefined();
  await svc.publish(spec(refused, 1009));
  await svc.publish(spec(u3, 1003));
  await svc.start();
  await waitUntil(() => svc.status().state === 'ready', 5_000);
  expect(commands.filter((c) => c.startsWith('ADD_ONION'))).toEqual(['ADD_ONION refused 4242,127.0.0.1:1009', 'ADD_ONION u3 4242,127.0.0.1:1003']);
  expect(warnings).toEqual([
    { source: 'onion', onion: `${refused.serviceId}.onion`, message: expect.stringMatching(/^tor refused the onion service \S+\.onion: tor refused ADD_ONION: 550 Onion address collision/) },
  ]);
  expect(svc.status().state).toBe('ready');

  await svc.unpublish(refused.serviceId);
  expect(commands).not.toContain('DEL_ONION refused'); // never added: nothing to withdraw
  await expect(svc.publish(spec(refused, 1009))).rejects.toMatchObject({ code: 550 });
  await svc.unpublish(refused.serviceId);

  // DEL_ONION unanswered and the connection gone under it: unpublish still resolves.
  holdDel = true;
  const first = svc.control!;
  const withdrawing = svc.unpublish(u3.serviceId);
  await waitUntil(() => commands.includes('DEL_ONION u3'), 5_000);
  commands = [];
  first.destroy();
  await withdrawing;
  holdDel = false;
  await waitUntil(() => svc.control !== undefined && svc.control !== first && svc.status().state === 'ready', 5_000);
  expect(commands.filter((c) => c.startsWith('ADD_ONION'))).toEqual([]); // nothing left to re-add
  await svc.stop();
});

it("our onion's extra ports change (a hosted room at its own port): remembered before start, and re-added with them while up", async () => {
  commands = [];
  addPorts = [];
  const { svc } = service(true);
  await svc.setOwnExtraPorts([{ virt: 40001, target: '127.0.0.1:40001' }]); // not started: only remembered
  expect(commands).toEqual([]);
  await svc.start();
  await waitUntil(() => svc.status().state === 'ready', 5_000);
  expect(addPorts).toEqual(['own 18765,127.0.0.1:1000 40001,127.0.0.1:40001']);
  commands = [];
  addPorts = [];
  await svc.setOwnExtraPorts([{ virt: 40001, target: '127.0.0.1:40001' }, { virt: 40002, target: '127.0.0.1:40002' }]);
  expect(commands).toEqual(['DEL_ONION own', 'ADD_ONION own 18765,127.0.0.1:1000']);
  expect(addPorts).toEqual(['own 18765,127.0.0.1:1000 40001,127.0.0.1:40001 40002,127.0.0.1:40002']);
  await svc.stop();
});

it("a published service's ports change (a user's hosted room at its own port): withdrawn and added again with them", async () => {
  commands = [];
  addPorts = [];
  const { svc } = service(false);
  await svc.start();
  await waitUntil(() => svc.status().state === 'ready', 5_000);
  await svc.publish(spec(u1, 1001));
  const room = [{ virt: 40003, target: '127.0.0.1:40003' }];
  commands = [];
  await svc.publish({ ...spec(u1, 1001), extraPorts: room });
  await svc.publish({ ...spec(u1, 1001), extraPorts: room }); // the same again: nothing to do
  expect(commands).toEqual(['DEL_ONION u1', 'ADD_ONION u1 4242,127.0.0.1:1001']);
  expect(addPorts.at(-1)).toBe('u1 4242,127.0.0.1:1001 40003,127.0.0.1:40003');
  commands = [];
  await svc.publish(spec(u1, 1001)); // the room unhosted
  expect(commands).toEqual(['DEL_ONION u1', 'ADD_ONION u1 4242,127.0.0.1:1001']);
  expect(addPorts.at(-1)).toBe('u1 4242,127.0.0.1:1001');
  await svc.stop();
});

// TorService in control mode against a scripted tor: states, bootstrap events, tor's warnings, SOCKS endpoint, publication (research/tor.md §2.4–2.6).
import net from 'node:net';
import { afterAll, expect, it } from 'vitest';
import { generateOnionKey } from '../../bridge-protocol/tor/onion-key.js';
import { TorService, type TorStatus, type TorWarning } from '../../bridge-protocol/tor/service.js';
import { onCrlfLines } from '../support/net.js';

const key = generateOnionKey();
const sockets = new Set<net.Socket>();
const commands: string[] = [];
let tor: net.Socket | undefined;

const server = net.createServer((sock) => {
  sockets.add(sock);
  tor = sock;
  sock.on('error', () => {});
  onCrlfLines(sock, (line) => {
    commands.push(line.split(' ')[0]!);
    if (line === 'PROTOCOLINFO 1') sock.write('250-PROTOCOLINFO 1\r\n250-AUTH METHODS=NULL\r\n250 OK\r\n');
    else if (line === 'GETINFO status/bootstrap-phase') sock.write('250-status/bootstrap-phase=NOTICE BOOTSTRAP PROGRESS=40 TAG=loading_keys SUMMARY="Loading authority key certs"\r\n250 OK\r\n');
    else if (line === 'GETINFO net/listeners/socks') sock.write('250-net/listeners/socks="127.0.0.1:9050" "unix:/run/tor/socks"\r\n250 OK\r\n');
    else if (line.startsWith('ADD_ONION ')) sock.write(`250-ServiceID=${key.serviceId}\r\n250 OK\r\n`);
    else sock.write('250 OK\r\n');
  });
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
});

const event = (text: string) => tor!.write(`650 ${text}\r\n`);
const next = <T>(svc: TorService, name: 'ready' | 'published' | 'warning'): Promise<T> =>
  new Promise((resolve) => svc.once(name, ((v: T) => resolve(v)) as never));

it('follows bootstrap to ready (SOCKS from net/listeners/socks), publishes on our HS_DESC UPLOADED, passes on tor warnings', async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  const svc = new TorService({ mode: 'control', attach: { endpoint: { host: '127.0.0.1', port } }, onion: { key, target: 'unix:/tmp/x.sock' } });
  const states: string[] = [];
  svc.on('status', (s: TorStatus) => states.push(`${s.state} ${s.bootstrap.progress}`));
  await svc.start();
  expect(commands).toEqual(['PROTOCOLINFO', 'AUTHENTICATE', 'SETEVENTS', 'GETINFO', 'ADD_ONION']); // no SETCONF: not our tor
  expect(svc.status()).toMatchObject({ state: 'bootstrapping', bootstrap: { progress: 40, summary: 'Loading authority key certs' } });

  const warned = next<TorWarning>(svc, 'warning');
  event('STATUS_CLIENT WARN BOOTSTRAP PROGRESS=40 TAG=loading_keys SUMMARY="Loading authority key certs" WARNING="No route to host" REASON=NOROUTE COUNT=1 RECOMMENDATION=ignore');
  event('STATUS_CLIENT WARN BOOTSTRAP PROGRESS=40 TAG=loading_keys SUMMARY="Loading authority key certs" WARNING="Connection refused" REASON=CONNECTREFUSED COUNT=10 RECOMMENDATION=warn');
  expect(await warned).toEqual({ source: 'bootstrap', message: 'tor: Connection refused (Loading authority key certs)' });

  const ready = next<{ host: string; port: number }>(svc, 'ready');
  event('STATUS_CLIENT NOTICE BOOTSTRAP PROGRESS=90 TAG=ap_handshake_done SUMMARY="Handshake finished with a relay to build circuits"');
  event('STATUS_CLIENT NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"');
  expect(await ready).toEqual({ host: '127.0.0.1', port: 9050 });
  expect(svc.status()).toEqual({
    mode: 'control',
    state: 'ready',
    bootstrap: { progress: 100, summary: 'Done' },
    onion: `${key.serviceId}.onion`,
    socks: { host: '127.0.0.1', port: 9050 },
  });
  expect(states).toEqual(['starting 0', 'bootstrapping 40', 'bootstrapping 90', 'bootstrapping 100', 'ready 100']);

  const failed = next<TorWarning>(svc, 'warning');
  event(`HS_DESC UPLOAD ${key.serviceId} UNKNOWN $AAAA~r1 descid HSDIR_INDEX=00`);
  event(`HS_DESC UPLOAD ${key.serviceId} UNKNOWN $BBBB~r2 descid HSDIR_INDEX=01`);
  event(`HS_DESC FAILED ${key.serviceId} UNKNOWN $AAAA~r1 REASON=UPLOAD_REJECTED`);
  event(`HS_DESC FAILED ${key.serviceId} UNKNOWN $BBBB~r2 REASON=UPLOAD_REJECTED`);
  expect(await failed).toEqual({ source: 'onion', message: expect.stringMatching(/could not publish .*UPLOAD_REJECTED/) });

  const published = next<string>(svc, 'published');
  event(`HS_DESC UPLOADED ${generateOnionKey().serviceId} UNKNOWN $AAAA~other`); // not ours
  event(`HS_DESC UPLOAD ${key.serviceId} UNKNOWN $AAAA~r1 descid HSDIR_INDEX=00`);
  event(`HS_DESC UPLOADED ${key.serviceId} UNKNOWN $AAAA~r1`);
  expect(await published).toBe(`${key.serviceId}.onion`);

  await svc.stop();
  expect(svc.status().state).toBe('off');
  expect(svc.socks).toBeUndefined();
});

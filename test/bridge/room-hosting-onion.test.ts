// Hosted rooms behind the gateway's onion (issue 12): with Tor on, a room's share string names the onion (the
// room's port is one more port of it, at the same number) and the rooms' ports are what the onion must carry,
// told again when a room is hosted or unhosted; without Tor the share string names the peer host as before.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import { generateOnionKey } from '../../bridge-protocol/tor/onion-key.js';
import { RoomHosting, type OnionPort } from '../../gateway/bridge/room-hosting.js';
import { openStore, type Store } from '../../gateway/store/index.js';

const ONION = `${generateOnionKey().serviceId}.onion`;
let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

function hosting(advertiseHost: string): { rooms: RoomHosting; store: Store } {
  const dir = mkdtempSync(join(tmpdir(), 'tlsim-room-onion-'));
  const store = openStore(dir);
  const accountId = store.accounts.ensure('me@localhost');
  const rooms = new RoomHosting({ store, accountId, log: pino({ level: 'silent' }), listenHost: '0.0.0.0', advertiseHost });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => store.close(), () => rooms.stop());
  return { rooms, store };
}

it('with Tor: the share string carries the onion and the room port; the onion ports follow hosting and unhosting', async () => {
  const { rooms } = hosting(ONION);
  const told: OnionPort[][] = [];
  rooms.portsChanged = (p) => told.push(p);
  await rooms.start();
  const party = await rooms.host('party', 'open');
  const port = Number(/:(\d+)$/.exec(party.share!)![1]);
  expect(party.share).toBe(`tlsim://${party.fingerprint}@${ONION}:${port}`);
  expect(rooms.onionPorts()).toEqual([{ virt: port, target: `127.0.0.1:${port}` }]);
  const club = await rooms.host('club', 'members');
  const clubPort = Number(/:(\d+)$/.exec(club.share!)![1]);
  expect(told.at(-1)).toEqual([{ virt: port, target: `127.0.0.1:${port}` }, { virt: clubPort, target: `127.0.0.1:${clubPort}` }]);
  await rooms.unhost('party');
  expect(told.at(-1)).toEqual([{ virt: clubPort, target: `127.0.0.1:${clubPort}` }]);
  expect(told).toHaveLength(3);
});

it('without Tor nothing changes: the share string names the peer host', async () => {
  const { rooms } = hosting('127.0.0.1');
  await rooms.start();
  const party = await rooms.host('party', 'open');
  expect(party.share).toMatch(new RegExp(`^tlsim://${party.fingerprint}@127\\.0\\.0\\.1:\\d+$`));
});

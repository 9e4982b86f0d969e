// A RoomBook (bridge-protocol/rooms/room-host.ts) in memory, for tests of RoomHost: aliases per fingerprint, bans.
import type { RoomBook } from '../../bridge-protocol/index.js';

export class MemoryBook implements RoomBook {
  readonly aliases = new Map<string, string>();
  readonly bans = new Set<string>();
  aliasOf = (fp: string) => this.aliases.get(fp);
  holderOf = (alias: string) => [...this.aliases].find(([, a]) => a === alias)?.[0];
  remember = (fp: string, alias: string) => void this.aliases.set(fp, alias);
  banned = (fp: string) => this.bans.has(fp);
}

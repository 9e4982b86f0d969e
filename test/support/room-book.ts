// A RoomBook and a RoomLog (bridge-protocol/rooms/room-host.ts) in memory, for tests of RoomHost: aliases per fingerprint, bans, the log.
import type { RoomBook, RoomLog, RoomLogEntry } from '../../bridge-protocol/index.js';

export class MemoryBook implements RoomBook {
  readonly aliases = new Map<string, string>();
  readonly bans = new Set<string>();
  aliasOf = (fp: string) => this.aliases.get(fp);
  holderOf = (alias: string) => [...this.aliases].find(([, a]) => a === alias)?.[0];
  remember = (fp: string, alias: string) => void this.aliases.set(fp, alias);
  banned = (fp: string) => this.bans.has(fp);
}

/** A RoomLog (the store's part for a RoomHost) in memory: outlives a RoomHost, as the store outlives a run. */
export class MemoryLog implements RoomLog {
  readonly entries: RoomLogEntry[] = [];
  load = (limit: number) => this.entries.slice(-limit);
  append = (e: RoomLogEntry, keep: number) => {
    this.entries.push(e);
    this.entries.splice(0, Math.max(0, this.entries.length - keep));
  };
}

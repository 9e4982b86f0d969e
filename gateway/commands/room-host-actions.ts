// Commands for rooms the gateway hosts (docs/rooms.md, "Hosting a room"): host one, let members in, ban, and see
// who is there. A room is removed with `room remove`, as any room.
import type { HostedPolicy, HostedRoomInfo, RoomHostingApi } from '../bridge/contract.js';
import { CommandError, clip, resolvePeer, roomJid, shortFingerprint } from './resolve.js';
import type { CommandContext, CommandResult } from './types.js';

type Action = (ctx: CommandContext, args: Record<string, string>) => Promise<CommandResult>;

const POLICIES: readonly HostedPolicy[] = ['open', 'members'];

function hostingOf({ network }: CommandContext): RoomHostingApi {
  if (!network.rooms?.hosting) throw new CommandError('this gateway hosts no rooms here');
  return network.rooms.hosting;
}

const shareText = (r: HostedRoomInfo): string => (r.share ? `share string ${r.share}` : 'its share string comes when the gateway runs and the room listens');

function membersText(r: HostedRoomInfo): string {
  const here = r.present.map((m) => m.name);
  const known = r.members.map((m) => `${m.alias}${m.banned ? ' (banned)' : ''} ${shortFingerprint(m.fingerprint)}`);
  return [
    `Room ${r.name} (${r.policy === 'open' ? 'open: anyone with the share string, asked for an alias' : 'members only'}), ${shareText(r)}`,
    here.length ? `In the room now: ${here.join(', ')}` : 'Nobody is in the room now.',
    known.length ? `Members: ${known.join('; ')}` : 'No members yet.',
  ].join('\n');
}

const roomHost: Action = async (ctx, args) => {
  const name = (args.room ?? '').trim().toLowerCase();
  if (!name) throw new CommandError('name the room: room host <name> [open|members]');
  const policy = (args.policy ?? 'open').trim().toLowerCase() as HostedPolicy;
  if (!POLICIES.includes(policy)) throw new CommandError(`a room is open or members (only), not ${clip(policy)}`);
  const before = hostingOf(ctx).get(name);
  const r = await hostingOf(ctx).host(name, policy);
  const jid = roomJid(ctx, r.name);
  const text = before
    ? `Room ${r.name} is now ${policy === 'open' ? 'open' : 'members only'}.`
    : `Hosting room ${r.name} (${policy === 'open' ? 'open' : 'members only'}). Join it yourself as ${jid}. Others join with ${r.share ? `its share string:\n${r.share}` : 'its share string, given once the gateway runs'}\n` +
      `(reference members: gnutls-cli or ncat --ssl with their certificate; gateway users: room add <share-string> ${r.name})`;
  return { ok: true, text, data: { ...r, jid } };
};

const roomAllow: Action = async (ctx, args) => {
  const { id, contact } = resolvePeer(ctx.network, ctx.peerDomain, args.peer ?? '');
  const alias = (args.alias ?? contact?.name ?? '').trim().toLowerCase();
  if (!alias) throw new CommandError('give the alias the member will have: room allow <room> <contact or fingerprint> <alias>');
  const r = hostingOf(ctx).allow(args.room ?? '', id, alias);
  return { ok: true, text: `${alias} (${shortFingerprint(id)}) may come into ${r.name}.`, data: r };
};

const roomBan: Action = async (ctx, args) => {
  const r = hostingOf(ctx).ban(args.room ?? '', args.who ?? '');
  return { ok: true, text: `Banned ${clip(args.who ?? '')} from ${r.name}: cut if there, and kept out.`, data: r };
};

const roomMembers: Action = async (ctx, args) => {
  const r = hostingOf(ctx).get(args.room ?? '');
  if (!r) throw new CommandError(`you host no room named ${clip(args.room ?? '')}`);
  return { ok: true, text: membersText(r), data: r };
};

export const ROOM_HOST_ACTIONS: Readonly<Record<string, Action>> = {
  'room-host': roomHost,
  'room-allow': roomAllow,
  'room-ban': roomBan,
  'room-members': roomMembers,
};

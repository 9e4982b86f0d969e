// What each gateway command does against the PeerNetwork, with the text a person reads and
// the data a program reads. Parsing lives in line.ts; the surfaces (bot, ad-hoc, CLI) only call in.
import type { Contact, SelfInfo } from '../bridge/contract.js';
import { formatAddress, parseAddress, parseShareString, SHARE_SCHEME } from '../bridge/share-string.js';
import { COMMANDS, helpText } from './catalog.js';
import { PROFILE_ACTIONS } from './profile-actions.js';
import { ROOM_HOST_ACTIONS } from './room-host-actions.js';
import { CommandError, clip, describeContact, parseFingerprint, resolvePeer, roomJid, shortFingerprint } from './resolve.js';
import type { CommandContext, CommandResult } from './types.js';

export type Action = (ctx: CommandContext, args: Record<string, string>) => Promise<CommandResult>;

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
const done = (text: string, data?: unknown): CommandResult => ({ ok: true, text, data });

/** The contact a command names, among the states its spec allows (one source: the catalog). */
function peerArg(ctx: CommandContext, command: string, args: Record<string, string>) {
  const among = COMMANDS.find((c) => c.name === command)?.params.find((p) => p.name === 'contact')?.among;
  return resolvePeer(ctx.network, ctx.peerDomain, args.contact ?? '', among ? { among } : {});
}

function byName(a: Contact, b: Contact): number {
  return a.name.localeCompare(b.name) || (a.id < b.id ? -1 : 1);
}

export function contactLine(c: Contact): string {
  return [c.name, shortFingerprint(c.id), c.online ? 'online' : 'offline', c.state, c.address ?? 'no address'].join(' · ');
}

const add: Action = async ({ network, peerDomain }, args) => {
  const peer = (args.peer ?? '').trim();
  let id: string;
  let address = args.address?.trim() || undefined;
  if (peer.toLowerCase().startsWith(SHARE_SCHEME)) {
    const s = parseShareString(peer);
    if (address) throw new CommandError('the share string already holds the address: leave the address out');
    id = s.fingerprint;
    address = formatAddress(s);
  } else {
    if (peer.includes('://')) throw new CommandError(`a share string starts with ${SHARE_SCHEME}`);
    id = parseFingerprint(peer, peerDomain);
    if (address) address = formatAddress(parseAddress(address));
  }
  if (network.selfInfo?.().fingerprint === id) throw new CommandError('that is your own fingerprint');
  const name = args.name?.trim() || undefined;
  const before = network.getContact(id);
  const c = await network.addContact(id, { name, address });
  const verb = before?.state === 'contact' ? 'Updated' : before?.state === 'blocked' ? 'Unblocked and added' : 'Added';
  const where = c.address ? `, address ${c.address}` : '; no address yet: it can reach you, or add its address later';
  return done(`${verb} ${describeContact(c)}${where}. Chat with ${id}@${peerDomain}`, c);
};

const list: Action = async ({ network }) => {
  const all = network.listContacts().sort(byName);
  if (all.length === 0) return done(`No contacts yet. Add one with: add ${SHARE_SCHEME}<fingerprint>@<host>:<port>`, all);
  const online = all.filter((c) => c.online).length;
  return done([`${plural(all.length, 'contact')}, ${online} online (name · fingerprint · link · state · address):`, ...all.map(contactLine)].join('\n'), all);
};

const rename: Action = async (ctx, args) => {
  const { id, contact } = peerArg(ctx, 'rename', args);
  const name = (args.name ?? '').trim();
  if (!name) throw new CommandError('give the new name: rename <contact> <new name>');
  const c = await ctx.network.renameContact(id, name);
  return done(`Renamed ${contact ? contact.name : shortFingerprint(id)} to ${describeContact(c)}`, c);
};

const remove: Action = async (ctx, args) => {
  const { id, contact } = peerArg(ctx, 'remove', args);
  await ctx.network.removeContact(id);
  return done(`Removed ${contact ? describeContact(contact) : shortFingerprint(id)}`, { id });
};

const block: Action = async (ctx, args) => {
  const { id, contact } = peerArg(ctx, 'block', args);
  const who = contact ? describeContact(contact) : shortFingerprint(id);
  if (contact?.state === 'blocked') return done(`${who} is already blocked`, { id });
  await ctx.network.block(id);
  return done(`Blocked ${who}. To undo: unblock ${contact?.name ?? id}`, { id });
};

const unblock: Action = async (ctx, args) => {
  const { id, contact } = peerArg(ctx, 'unblock', args);
  await ctx.network.unblock(id);
  return done(`Unblocked ${contact ? describeContact(contact) : shortFingerprint(id)}: a contact again`, { id });
};

const requests: Action = async ({ network }) => {
  const pending = network.listContacts().filter((c) => c.state === 'requested').sort(byName);
  if (pending.length === 0) return done('No pending requests', pending);
  const lines = pending.map((c) => `${c.name} · ${c.id}`);
  return done([`${plural(pending.length, 'peer')} asked to talk (accept <fingerprint> or deny <fingerprint>):`, ...lines].join('\n'), pending);
};

const answer =
  (accept: boolean): Action =>
  async (ctx, args) => {
    const { id, contact } = peerArg(ctx, accept ? 'accept' : 'deny', args);
    await ctx.network.answerRequest(id, accept);
    const who = contact ? describeContact(contact) : shortFingerprint(id);
    return done(accept ? `Accepted ${who}: now a contact` : `Denied the request from ${who}`, { id });
  };

function selfOf({ network }: CommandContext): SelfInfo {
  if (!network.selfInfo) throw new CommandError('this peer network cannot tell who we are');
  return network.selfInfo();
}

const share: Action = async (ctx) => {
  const self = selfOf(ctx);
  if (!self.share) {
    throw new CommandError(`no share string: we do not listen where peers can reach us. Our fingerprint: ${self.fingerprint}`);
  }
  return done(self.share, { fingerprint: self.fingerprint, share: self.share });
};

const status: Action = async (ctx) => {
  const self = selfOf(ctx);
  const all = ctx.network.listContacts();
  const contacts = all.filter((c) => c.state === 'contact').length;
  const pending = all.filter((c) => c.state === 'requested').length;
  const lines = [
    `Fingerprint: ${self.fingerprint}`,
    `Share: ${self.share ?? '(none: not listening where peers can reach us)'}`,
    `Listening: ${self.listening.length ? self.listening.join(', ') : 'nowhere'}`,
    `Transport: ${self.transport}`,
    `Peers online: ${self.online} (${plural(contacts, 'contact')})`,
    `Queued messages: ${self.queued}`,
    `Pending requests: ${pending}`,
  ];
  return done(lines.join('\n'), { ...self, contacts, requests: pending });
};

function roomsOf({ network }: CommandContext) {
  if (!network.rooms) throw new CommandError('chat rooms are not available here');
  return network.rooms;
}

const roomAdd: Action = async (ctx, args) => {
  const share = (args.share ?? '').trim();
  if (!share.toLowerCase().startsWith(SHARE_SCHEME)) throw new CommandError(`a room is added from its share string, ${SHARE_SCHEME}<fingerprint>@<host>:<port>`);
  const before = args.name?.trim() ? roomsOf(ctx).get(args.name.trim()) : undefined;
  const room = roomsOf(ctx).add(share, args.name);
  const jid = roomJid(ctx, room.name);
  return done(`${before ? 'Updated' : 'Added'} room ${room.name} (${room.address}). Join ${jid} with the nick you like (the room knows you by an alias: your nick in a-z 0-9).`, { ...room, jid });
};

const roomList: Action = async (ctx) => {
  const all = roomsOf(ctx).list();
  if (all.length === 0) return done('No chat rooms yet. Add one with: room add tlsim://<fingerprint>@<host>:<port> [name]', []);
  const rows = all.map((r) => ({ ...r, jid: roomJid(ctx, r.name) }));
  return done([`${plural(all.length, 'room')} (jid · address · fingerprint):`, ...rows.map((r) => `${r.jid} · ${r.address} · ${shortFingerprint(r.fingerprint)}`)].join('\n'), rows);
};

const roomRemove: Action = async (ctx, args) => {
  const name = (args.room ?? '').trim().toLowerCase();
  roomsOf(ctx).remove(name);
  return done(`Removed room ${name}`, { name });
};

const help: Action = async (_ctx, args) => {
  const topic = args.topic?.trim().toLowerCase();
  const spec = topic ? COMMANDS.find((c) => c.name === topic) : undefined;
  if (topic && !spec) throw new CommandError(`no command ${clip(topic)}; send help for the list`);
  if (spec) return done(`${spec.usage.split(' | ').join('  or  ')}: ${spec.summary}`, spec);
  return done(helpText(), COMMANDS);
};

export const ACTIONS: Readonly<Record<string, Action>> = {
  help,
  add,
  list,
  rename,
  remove,
  block,
  unblock,
  requests,
  accept: answer(true),
  deny: answer(false),
  'room-add': roomAdd,
  'room-list': roomList,
  'room-remove': roomRemove,
  ...PROFILE_ACTIONS,
  ...ROOM_HOST_ACTIONS,
  share,
  status,
};

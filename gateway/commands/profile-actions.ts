// The FOAF directory's gateway commands (issue 13): show and edit the own profile, publish or unpublish a contact.
import { PROFILE_KEYS, type DirectoryNetwork, type OwnProfile, type ProfileKey } from '../bridge/contract.js';
import { COMMANDS } from './catalog.js';
import { CommandError, clip, describeContact, resolvePeer } from './resolve.js';
import type { CommandContext, CommandResult } from './types.js';

type Action = (ctx: CommandContext, args: Record<string, string>) => Promise<CommandResult>;

function directoryOf({ network }: CommandContext): DirectoryNetwork {
  if (!network.directory) throw new CommandError('there is no FOAF directory here');
  return network.directory;
}

export function profileText(ctx: CommandContext, p: OwnProfile): string {
  const names = p.published.map((fp) => {
    const c = ctx.network.getContact(fp);
    return c ? describeContact(c) : fp;
  });
  const show = (v: string | undefined): string => v ?? '(not set)';
  return [
    `Nick: ${show(p.nick)}`,
    `Name: ${show(p.name)}`,
    `Interests: ${p.interests.length ? p.interests.join(', ') : '(none)'}`,
    `Place: ${show(p.place)}`,
    `Description: ${show(p.description)}`,
    `Email: ${p.mboxSha1sum ? `only its SHA-1 is published (${p.mboxSha1sum})` : '(not set)'}`,
    `Address: ${p.share ?? p.fingerprint}`,
    names.length ? `Published contacts (foaf:knows): ${names.join(', ')}` : 'Published contacts: none (publish <contact> lists one)',
    'Peers that ask, and GET /foaf, get exactly this; nothing else you know is published.',
  ].join('\n');
}

const profile: Action = async (ctx) => {
  const p = directoryOf(ctx).profile();
  return { ok: true, text: profileText(ctx, p), data: { ...p, turtle: directoryOf(ctx).turtle() } };
};

const profileSet: Action = async (ctx, args) => {
  const field = (args.field ?? '').trim().toLowerCase();
  if (!(PROFILE_KEYS as readonly string[]).includes(field)) throw new CommandError(`no profile field ${clip(field)}; one of ${PROFILE_KEYS.join(', ')}`);
  const value = args.value ?? '';
  const p = directoryOf(ctx).setField(field as ProfileKey, value);
  return { ok: true, text: `${value.trim() ? 'Set' : 'Cleared'} ${field}.\n${profileText(ctx, p)}`, data: p };
};

const publication =
  (published: boolean): Action =>
  async (ctx, args) => {
    const among = COMMANDS.find((c) => c.name === 'publish')!.params[0]!.among;
    const { id, contact } = resolvePeer(ctx.network, ctx.peerDomain, args.contact ?? '', among ? { among } : {});
    directoryOf(ctx).setPublic(id, published);
    const who = contact ? describeContact(contact) : id;
    const text = published
      ? `Published ${who}: your profile lists them (their nick and address), so people who read it can find and add them. To undo: unpublish ${contact?.name ?? id}`
      : `Unpublished ${who}: your profile no longer lists them`;
    return { ok: true, text, data: { id, published } };
  };

const crawl: Action = async (ctx) => {
  const r = await directoryOf(ctx).crawl();
  const parts = [`${r.fetched} profile${r.fetched === 1 ? '' : 's'} read`, `${r.none} without a profile`, `${r.refused} refused`];
  if (r.deferred > 0) parts.push(`${r.deferred} left for later (hourly limit)`);
  // Say which contacts have no profile, and why (a reference peer has none: never guessed).
  const without = ctx.network
    .listContacts()
    .map((c) => ({ c, s: directoryOf(ctx).status(c.id) }))
    .filter(({ s }) => s?.status === 'none' || s?.status === 'refused')
    .map(({ c, s }) => `• ${describeContact(c)}: ${s!.status === 'none' ? 'no profile' : 'profile refused'} (${s!.reason ?? 'no reason given'})`);
  const where = `Search with your client's user search (directory.${ctx.domain ?? 'localhost'}).`;
  return { ok: true, text: [`Crawled: ${parts.join(', ')}. ${where}`, ...without].join('\n'), data: r };
};

export const PROFILE_ACTIONS: Readonly<Record<string, Action>> = {
  profile,
  'profile-set': profileSet,
  publish: publication(true),
  unpublish: publication(false),
  crawl,
};

// The list of gateway commands: names, usage and parameters. The one source of truth for the
// chat bot's `help`, the XEP-0050 command list and forms, and the CLI.
import type { CommandSpec } from './types.js';

const CONTACT = 'Contact (name or fingerprint)';

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'help',
    title: 'Help',
    summary: 'this list',
    usage: 'help [command]',
    params: [{ name: 'topic', label: 'Command', required: false, kind: 'text' }],
    chatOnly: true,
  },
  {
    name: 'add',
    title: 'Add contact',
    summary: 'add a peer from its share string, or from its fingerprint and address',
    usage: 'add <share-string> [name] | add <fingerprint> <host> <port> [name]',
    params: [
      { name: 'peer', label: 'Share string (tlsim://…) or fingerprint', required: true, kind: 'share' },
      { name: 'address', label: 'Address host:port (not needed with a share string)', required: false, kind: 'text' },
      { name: 'name', label: 'Name', required: false, kind: 'text' },
    ],
  },
  {
    name: 'list',
    title: 'List contacts',
    summary: 'contacts with name, fingerprint, online or not, state and address',
    usage: 'list',
    params: [],
  },
  {
    name: 'rename',
    title: 'Rename contact',
    summary: 'give a contact another name',
    usage: 'rename <contact> <new name>',
    params: [
      { name: 'contact', label: CONTACT, required: true, kind: 'contact', among: ['contact', 'blocked'] },
      { name: 'name', label: 'New name', required: true, kind: 'text' },
    ],
  },
  {
    name: 'remove',
    title: 'Remove contact',
    summary: 'forget a contact (it may ask again later)',
    usage: 'remove <contact>',
    params: [{ name: 'contact', label: CONTACT, required: true, kind: 'contact', among: ['contact'] }],
  },
  {
    name: 'block',
    title: 'Block peer',
    summary: 'refuse a peer: its links are cut and it cannot write',
    usage: 'block <contact or fingerprint>',
    params: [{ name: 'contact', label: 'Peer (name or fingerprint)', required: true, kind: 'contact' }],
  },
  {
    name: 'unblock',
    title: 'Unblock peer',
    summary: 'let a blocked peer back in as a contact',
    usage: 'unblock <contact>',
    params: [{ name: 'contact', label: CONTACT, required: true, kind: 'contact', among: ['blocked'] }],
  },
  {
    name: 'requests',
    title: 'Pending requests',
    summary: 'peers that asked to talk and wait for accept or deny',
    usage: 'requests',
    params: [],
  },
  {
    name: 'accept',
    title: 'Accept request',
    summary: 'make a peer that asked to talk a contact',
    usage: 'accept <fingerprint or name>',
    params: [{ name: 'contact', label: 'Peer that asked', required: true, kind: 'contact', among: ['requested'] }],
  },
  {
    name: 'deny',
    title: 'Deny request',
    summary: 'refuse a peer that asked to talk',
    usage: 'deny <fingerprint or name>',
    params: [{ name: 'contact', label: 'Peer that asked', required: true, kind: 'contact', among: ['requested'] }],
  },
  {
    name: 'room-add',
    title: 'Add chat room',
    summary: 'add a reference chat room (tlsd-chat) from its share string; join it as <name>@conference.<domain> (as a component: <name>@<component domain>)',
    usage: 'room add <share-string> [name]',
    params: [
      { name: 'share', label: 'Share string of the room (tlsim://…)', required: true, kind: 'share' },
      { name: 'name', label: 'Room name (a-z 0-9 . _ -)', required: false, kind: 'text' },
    ],
  },
  {
    name: 'room-list',
    title: 'List chat rooms',
    summary: 'the chat rooms you added, with their JID and address',
    usage: 'room list',
    params: [],
  },
  {
    name: 'room-remove',
    title: 'Remove chat room',
    summary: 'forget a chat room (whoever is in it leaves)',
    usage: 'room remove <name>',
    params: [{ name: 'room', label: 'Room name', required: true, kind: 'text' }],
  },
  {
    name: 'room-host',
    title: 'Host a chat room',
    summary: 'host a room of your own that reference members (tlsd-chat clients) and other gateways join; open or members only',
    usage: 'room host <name> [open|members]',
    params: [
      { name: 'room', label: 'Room name (a-z 0-9 . _ -)', required: true, kind: 'text' },
      { name: 'policy', label: 'Who may come in: open or members', required: false, kind: 'text' },
    ],
  },
  {
    name: 'room-allow',
    title: 'Let a member in',
    summary: 'let a peer into a room you host, under an alias (a-z 0-9); unbans it',
    usage: 'room allow <room> <contact or fingerprint> <alias>',
    params: [
      { name: 'room', label: 'Room name', required: true, kind: 'text' },
      { name: 'peer', label: 'Contact or fingerprint', required: true, kind: 'contact' },
      { name: 'alias', label: 'Alias in the room (a-z 0-9)', required: true, kind: 'text' },
    ],
  },
  {
    name: 'room-ban',
    title: 'Ban from a room',
    summary: 'cut a member from a room you host and keep it out',
    usage: 'room ban <room> <alias or fingerprint>',
    params: [
      { name: 'room', label: 'Room name', required: true, kind: 'text' },
      { name: 'who', label: 'Alias or fingerprint', required: true, kind: 'text' },
    ],
  },
  {
    name: 'room-members',
    title: 'Room members',
    summary: 'who is in a room you host, its members and its share string',
    usage: 'room members <room>',
    params: [{ name: 'room', label: 'Room name', required: true, kind: 'text' }],
  },
  {
    name: 'profile',
    title: 'My profile',
    summary: 'your FOAF profile (what peers and GET /foaf get) and the contacts you published',
    usage: 'profile',
    params: [],
  },
  {
    name: 'profile-set',
    title: 'Edit my profile',
    summary: 'set a field of your profile (interest: a comma-separated list; email: only its SHA-1 is kept); no value clears it',
    usage: 'profile set <nick|name|interest|place|description|email> [value]',
    params: [
      { name: 'field', label: 'Field (nick, name, interest, place, description, email)', required: true, kind: 'text' },
      { name: 'value', label: 'Value (empty clears it)', required: false, kind: 'text' },
    ],
  },
  {
    name: 'publish',
    title: 'Publish contact',
    summary: 'list a contact in your profile (foaf:knows), so people who read it can find and add them',
    usage: 'publish <contact>',
    params: [{ name: 'contact', label: CONTACT, required: true, kind: 'contact', among: ['contact'] }],
  },
  {
    name: 'unpublish',
    title: 'Unpublish contact',
    summary: 'take a contact out of your profile again',
    usage: 'unpublish <contact>',
    params: [{ name: 'contact', label: CONTACT, required: true, kind: 'contact', among: ['contact'] }],
  },
  {
    name: 'crawl',
    title: 'Fetch profiles now',
    summary: "fetch your contacts' profiles and those of the people they published (within the hourly limit)",
    usage: 'crawl',
    params: [],
  },
  {
    name: 'share',
    title: 'My share string',
    summary: 'the string others paste to add you',
    usage: 'share',
    params: [],
  },
  {
    name: 'status',
    title: 'Gateway status',
    summary: 'fingerprint, share string, listener, transport, peers online, queued messages',
    usage: 'status',
    params: [],
  },
];

export function findCommand(name: string): CommandSpec | undefined {
  const n = name.trim().toLowerCase();
  return COMMANDS.find((c) => c.name === n);
}

/** The `help` text, generated from COMMANDS so it never disagrees with what runs. */
export function helpText(): string {
  const lines = ['tlsim gateway commands (a contact is a name or a fingerprint, 8 hex characters are enough):'];
  for (const c of COMMANDS) {
    const forms = c.usage.split(' | ');
    lines.push(`• ${forms.join('  or  ')}: ${c.summary}`);
  }
  return lines.join('\n');
}

// Every config key: its type, default, check, documentation and command-line flag. The TOML file, the
// environment (TLSIM_<SECTION>_<KEY>), the flags, the defaults and the commented default file all come from here.
import {
  boolean,
  domain,
  integer,
  list,
  listenHost,
  localpart,
  oneOf,
  optionalPath,
  origin,
  port,
  reachableHost,
  secretText,
  torControlEndpoint,
  type Check,
} from './values.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['auto', 'pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const UNKNOWN_PEER_POLICIES = ['ask', 'accept', 'reject'] as const;
export type UnknownPeerPolicy = (typeof UNKNOWN_PEER_POLICIES)[number];
export const TOR_MODES = ['auto', 'launch', 'control', 'off'] as const;
export type TorMode = (typeof TOR_MODES)[number];
export const GATEWAY_MODES = ['local', 'component'] as const;
export type GatewayMode = (typeof GATEWAY_MODES)[number];
export const PEER_SESSION_MODES = ['presence', 'always'] as const;
export type PeerSessionMode = (typeof PEER_SESSION_MODES)[number];
/** How search results are ranked (gateway/directory/rank.ts, README "Find people"). */
export const DIRECTORY_RANKS = ['distance', 'vouchers'] as const;
export type DirectoryRank = (typeof DIRECTORY_RANKS)[number];

/** Property names are the TOML key names, so one spelling is used in code, files, docs and errors. */
export interface Config {
  readonly gateway: {
    readonly mode: GatewayMode;
  };
  readonly account: {
    readonly user: string;
    readonly domain: string;
  };
  readonly peer: {
    readonly domain: string;
    readonly host: string;
    readonly port: number;
    readonly advertise_host: string;
    readonly max_message_bytes: number;
    readonly unknown_policy: UnknownPeerPolicy;
  };
  readonly c2s: {
    readonly host: string;
    readonly port: number;
    readonly allow_plain_without_tls: boolean;
    readonly max_connections: number;
    readonly offline_messages: number;
  };
  readonly websocket: {
    readonly enabled: boolean;
    readonly host: string;
    readonly port: number;
    readonly allowed_origins: readonly string[];
  };
  readonly web: {
    readonly enabled: boolean;
    readonly host: string;
    readonly port: number;
  };
  readonly tor: {
    readonly mode: TorMode;
    readonly control: string;
    readonly control_password_file: string;
    readonly all: boolean;
    readonly virtual_port: number;
  };
  readonly component: {
    readonly server: string;
    readonly port: number;
    readonly domain: string;
    readonly secret: string;
    readonly secret_file: string;
    readonly peer_session: PeerSessionMode;
  };
  readonly log: {
    readonly level: LogLevel;
    readonly format: LogFormat;
  };
  readonly archive: {
    readonly retention_days: number;
  };
  readonly files: {
    readonly enabled: boolean;
    readonly max_file_mb: number;
    readonly quota_mb: number;
    readonly expiry_days: number;
  };
  readonly directory: {
    readonly rank: DirectoryRank;
    readonly depth: number;
    readonly fetches_per_hour: number;
    readonly max_dials: number;
    readonly refresh_hours: number;
    readonly http: boolean;
    readonly http_port: number;
    readonly onion_port: number;
  };
}

export type Section = keyof Config;
/** "c2s.port", "peer.unknown_policy", ...: every key, checked by the compiler. */
export type ConfigKey = { [S in Section]: `${S}.${keyof Config[S] & string}` }[Section];
type ValueOf<K extends ConfigKey> = K extends `${infer S extends Section}.${infer F}`
  ? F extends keyof Config[S]
    ? Config[S][F]
    : never
  : never;

export interface KeySpec<T> {
  /** Comment lines in the default config file. */
  readonly doc: string;
  readonly default: T;
  /** When no source sets the key, its value is computed from the others (e.g. advertise_host = host). */
  readonly derive?: (c: Config) => T;
  readonly check: Check<T>;
  /** The command-line flag (without "--") that sets this key, if any. Never for secrets. */
  readonly flag?: string;
  /** A secret: only from the environment (never a file anyone may read, nor a flag `ps` shows), never shown. */
  readonly secret?: boolean;
}

export const SECTION_DOCS: Readonly<Record<Section, string>> = {
  gateway: 'How the gateway runs: its own XMPP server for your clients, or a component of a real XMPP server.',
  account: 'The local XMPP account your client (Pidgin, Gajim, ...) logs in to: user@domain.',
  peer: 'The tlsim side: where other peers reach us and how we treat them.',
  c2s: 'The XMPP client listener (TCP, STARTTLS).',
  websocket: 'The XMPP-over-WebSocket listener (RFC 7395), for web clients such as Converse.js.',
  web: 'The status page and web chat (HTTPS on loopback; "tlsim-gateway open" opens it), behind your account password.',
  tor: 'Reaching peers through Tor.',
  component:
    'Transport mode (gateway.mode = "component"): attached to an XMPP server (Prosody, ejabberd) as an XEP-0114 ' +
    'component, so every user of that server (and of federated ones) can register and reach tlsim peers.',
  log: 'Logging.',
  archive: 'The message history every client can page through (XEP-0313), kept in the database.',
  files:
    'File upload (XEP-0363) for your clients, served by the status page listener (web.enabled), and files to and ' +
    'from other gateways; files live in the data directory until they expire.',
  directory:
    'Find people (README "Find people"): your FOAF profile, served to peers and at GET /foaf, and the profiles your ' +
    'contacts published, searched from your client (directory.<domain>). Nothing is published unless you ask.',
};

export const SCHEMA: { readonly [K in ConfigKey]: KeySpec<ValueOf<K>> } = {
  'gateway.mode': {
    doc:
      '"local": the gateway is your own XMPP server (Pidgin, Gajim, ... log in to it); "component": it attaches ' +
      'to a real XMPP server (see [component]). A top-level mode = "component" means the same.',
    default: 'local',
    check: oneOf(GATEWAY_MODES),
    flag: 'mode',
  },
  'account.user': { doc: 'Your user name (the part before the @).', default: 'me', check: localpart },
  'account.domain': { doc: 'The domain of your account.', default: 'localhost', check: domain },

  'peer.domain': {
    doc: 'The domain under which peers appear in your roster: <fingerprint>@peers.localhost.',
    default: 'peers.localhost',
    check: domain,
  },
  'peer.host': {
    doc: 'Address on which we accept connections from peers.',
    default: '127.0.0.1',
    check: listenHost,
  },
  'peer.port': { doc: 'Port for peers; 0 picks a free port.', default: 18765, check: port, flag: 'peer-port' },
  'peer.advertise_host': {
    doc: 'Host put in your share string (tlsim://<fingerprint>@host:port); default: same as peer.host.',
    default: '127.0.0.1',
    derive: (c) => c.peer.host,
    check: reachableHost,
  },
  'peer.max_message_bytes': {
    doc: 'Longest message accepted from a peer; longer ones are cut and marked.',
    default: 65536,
    check: integer(1024, 16 * 1024 * 1024),
  },
  'peer.unknown_policy': {
    doc: 'Messages from peers not in your roster: "ask" (a contact request), "accept" or "reject".',
    default: 'ask',
    check: oneOf(UNKNOWN_PEER_POLICIES),
  },

  'c2s.host': { doc: 'Address on which XMPP clients connect.', default: '127.0.0.1', check: listenHost },
  'c2s.port': { doc: 'Port for XMPP clients; 0 picks a free port.', default: 5222, check: port, flag: 'c2s-port' },
  'c2s.allow_plain_without_tls': {
    doc: 'Let clients send the password without TLS (only sensible on 127.0.0.1).',
    default: false,
    check: boolean,
  },
  'c2s.max_connections': {
    doc:
      'Most XMPP client connections open at once (logged in or not); more are closed at once. Each takes a file ' +
      'descriptor: keep it below the open-files limit (ulimit -n).',
    default: 256,
    check: integer(1, 1_000_000),
  },
  'c2s.offline_messages': {
    doc: 'Messages kept for your XMPP clients while none is online; beyond it the oldest go first, and you are told how many.',
    default: 500,
    check: integer(10, 1_000_000),
  },

  'websocket.enabled': { doc: 'Offer XMPP over WebSocket.', default: true, check: boolean },
  'websocket.host': { doc: 'Address of the WebSocket listener.', default: '127.0.0.1', check: listenHost },
  'websocket.port': {
    doc: 'Port of the WebSocket listener; 0 picks a free port.',
    default: 5280,
    check: port,
    flag: 'websocket-port',
  },
  'websocket.allowed_origins': {
    doc: 'Web pages allowed to connect, e.g. ["https://chat.example.org"].',
    default: [],
    check: list(origin),
  },

  'web.enabled': {
    doc: 'Serve the status page (QR code of your share string, contacts, requests, log) and the Converse.js web chat.',
    default: true,
    check: boolean,
  },
  'web.host': { doc: 'Address of the status page: keep it on loopback (127.0.0.1 or ::1).', default: '127.0.0.1', check: listenHost },
  'web.port': { doc: 'Port of the status page (https://127.0.0.1:<port>/); 0 picks a free port.', default: 5443, check: port, flag: 'web-port' },

  'tor.mode': {
    doc:
      '"auto" (launch our own tor if the tor program is installed, else use a running tor\'s control port, else off), ' +
      '"launch", "control" (a running tor, see tor.control) or "off" (peers reach us only directly).',
    default: 'auto',
    check: oneOf(TOR_MODES),
    flag: 'tor',
  },
  'tor.control': {
    doc: 'Control port of a running tor for mode "control" (and "auto"): "127.0.0.1:9051" or a Unix socket path.',
    default: '/run/tor/control',
    check: torControlEndpoint,
  },
  'tor.control_password_file': {
    doc: 'File holding the control port password (HashedControlPassword); empty: cookie authentication.',
    default: '',
    check: optionalPath,
  },
  'tor.all': {
    doc: 'false: only .onion peers go through Tor, others are dialed directly; true: every peer through Tor.',
    default: false,
    check: boolean,
  },
  'tor.virtual_port': {
    doc: 'The port of our onion service that peers dial (<onion>:<port> in your share string).',
    default: 18765,
    check: integer(1, 65535),
  },

  'component.server': {
    doc: 'Host of the XMPP server whose component port we connect to.',
    default: '127.0.0.1',
    check: reachableHost,
  },
  'component.port': { doc: "The server's component port (Prosody component_ports, ejabberd ejabberd_service).", default: 5347, check: integer(1, 65535) },
  'component.domain': {
    doc: 'Our component domain, as declared on the server; peers appear as <fingerprint>@<this domain>.',
    default: 'peers.localhost',
    check: domain,
  },
  'component.secret': {
    doc: 'The component secret shared with the server: only from the environment (TLSIM_COMPONENT_SECRET); else use secret_file.',
    default: '',
    check: secretText,
    secret: true,
  },
  'component.secret_file': {
    doc: 'File holding the component secret (Prosody component_secret, ejabberd password); keep it 0600.',
    default: '',
    check: optionalPath,
  },
  'component.peer_session': {
    doc:
      '"presence": a user\'s peers are linked while the user is online toward the gateway (and 2 minutes after, ' +
      'so a reconnecting client loses nothing); "always": from registration on, and messages wait for the user.',
    default: 'presence',
    check: oneOf(PEER_SESSION_MODES),
  },

  'log.level': {
    doc: 'One of "trace", "debug", "info", "warn", "error", "fatal", "silent".',
    default: 'info',
    check: oneOf(LOG_LEVELS),
    flag: 'log-level',
  },
  'log.format': {
    doc: '"pretty" (for people), "json" (for machines) or "auto" (pretty on a terminal).',
    default: 'auto',
    check: oneOf(LOG_FORMATS),
  },

  'archive.retention_days': {
    doc: 'Days messages stay in the history; older ones are deleted (at start and every hour). 0 keeps them forever.',
    default: 0,
    check: integer(0, 36500),
  },

  'files.enabled': {
    doc: 'Offer file upload (XEP-0363) at upload.<domain>; it needs the status page listener (web.enabled).',
    default: true,
    check: boolean,
  },
  'files.max_file_mb': { doc: 'Largest file a client may upload or a gateway peer may send, in MiB.', default: 100, check: integer(1, 10240) },
  'files.quota_mb': { doc: 'Space all files of one account may take, in MiB; past it uploads are refused until some expire.', default: 1024, check: integer(1, 1048576) },
  'files.expiry_days': { doc: 'Days an uploaded or received file is kept; then it is deleted (checked every hour).', default: 7, check: integer(1, 3650) },
  'directory.rank': {
    doc: '"distance": nearest first (contacts of contacts before theirs), then most vouchers; "vouchers": most vouchers first.',
    default: 'distance',
    check: oneOf(DIRECTORY_RANKS),
  },
  'directory.depth': { doc: 'Hops of profiles fetched: 1 = your contacts, 2 = also the people they published.', default: 2, check: integer(1, 5) },
  'directory.fetches_per_hour': { doc: 'Most profiles fetched in any hour.', default: 60, check: integer(1, 10_000) },
  'directory.max_dials': { doc: 'Most profiles fetched (peers dialed) at once.', default: 4, check: integer(1, 64) },
  'directory.refresh_hours': { doc: 'A profile older than this is fetched again.', default: 24, check: integer(1, 8760) },
  'directory.http': { doc: 'Serve your public profile at GET /foaf (loopback, behind your onion service; local mode).', default: true, check: boolean },
  'directory.http_port': { doc: 'Loopback port of GET /foaf; 0 picks a free one.', default: 0, check: port },
  'directory.onion_port': { doc: 'The port of your onion service that serves GET /foaf (http://<onion>:<port>/foaf).', default: 80, check: integer(1, 65535) },
};

export const CONFIG_KEYS = Object.keys(SCHEMA) as ConfigKey[];

/** TLSIM_C2S_PORT for c2s.port. */
export function envName(key: ConfigKey): string {
  return `TLSIM_${key.replace('.', '_').toUpperCase()}`;
}

export function splitKey(key: ConfigKey): [Section, string] {
  const dot = key.indexOf('.');
  return [key.slice(0, dot) as Section, key.slice(dot + 1)];
}

// A private Tor network on 127.0.0.1 for onion round trips offline: 3 authorities + 2 relays, 10 s voting (research/tor.md §4.2; chutney's hs-v3-min).
//
// Nothing here can reach the public network: every node (and every client given clientOptions)
// knows only our DirAuthority lines, which replace tor's built-in authorities and fallbacks.
import { randomInt } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { authenticate } from '../../bridge-protocol/tor/control-auth.js';
import { TorControl } from '../../bridge-protocol/tor/control.js';
import { spawnProc, type Proc } from './proc.js';

export interface TorNetworkOptions {
  /** A fresh directory; each node gets a subdirectory. */
  dir: string;
  authorities?: number;
  relays?: number;
  /** For keys, start and the full consensus (default 120 s). */
  timeoutMs?: number;
}

export interface TorNode {
  nick: string;
  dataDir: string;
  orPort: number;
  dirPort?: number;
  proc?: Proc;
}

export interface TorNetwork {
  nodes: TorNode[];
  /** `DirAuthority` values every member and client needs. */
  dirAuthorities: string[];
  /** Extra options for launch.ts clients: TestingTorNetwork 1 plus our authorities. */
  clientOptions: Array<[string, string]>;
  /** Milliseconds from start() to keys made, and to the full consensus. */
  timings: { keysMs: number; consensusMs: number };
  stop(): Promise<void>;
}

const COMMON = [
  'TestingTorNetwork 1',
  'AssumeReachable 1',
  'PathsNeededToBuildCircuits 0.67',
  'TestingDirAuthVoteExit *',
  'TestingDirAuthVoteHSDir *',
  'TestingDirAuthVoteGuard *',
  'TestingMinExitFlagThreshold 0',
  'V3AuthNIntervalsValid 2',
  'ShutdownWaitLength 0',
  'SafeLogging 0',
  'LogTimeGranularity 1',
  'Log notice stdout',
  'SocksPort 0',
  'Address 127.0.0.1',
  'ExitRelay 0',
  'CookieAuthentication 1',
];

// 10/2/2 voting: the fastest schedule tor accepts that worked (tor.md §4.2; chutney uses 20/4/4).
const AUTHORITY = [
  'AuthoritativeDirectory 1',
  'V3AuthoritativeDirectory 1',
  'TestingV3AuthInitialVotingInterval 10',
  'TestingV3AuthInitialVoteDelay 2',
  'TestingV3AuthInitialDistDelay 2',
  'V3AuthVotingInterval 10',
  'V3AuthVoteDelay 2',
  'V3AuthDistDelay 2',
];

export async function startTorNetwork(opts: TorNetworkOptions): Promise<TorNetwork> {
  const started = Date.now();
  const deadline = started + (opts.timeoutMs ?? 120_000);
  const nAuth = opts.authorities ?? 3;
  const nRelay = opts.relays ?? 2;
  const base = await freeBase(nAuth + nRelay);
  const nodes: TorNode[] = [];
  for (let i = 0; i < nAuth + nRelay; i++) {
    const auth = i < nAuth;
    const dataDir = join(opts.dir, auth ? `auth${i}` : `relay${i - nAuth}`);
    await mkdir(join(dataDir, 'keys'), { recursive: true });
    await chmod(dataDir, 0o700);
    nodes.push({ nick: auth ? `auth${i}` : `relay${i - nAuth}`, dataDir, orPort: base + i, ...(auth ? { dirPort: base + 100 + i } : {}) });
  }
  const network: TorNetwork = {
    nodes,
    dirAuthorities: [],
    clientOptions: [],
    timings: { keysMs: 0, consensusMs: 0 },
    stop: async () => {
      await Promise.all(nodes.map((n) => n.proc?.kill()));
    },
  };
  try {
    // Authority keys per run (RSA-3072 in tor-gencert: ~1.5 s each, so in parallel).
    network.dirAuthorities = await Promise.all(nodes.filter((n) => n.dirPort).map((n) => authorityKeys(n)));
    network.clientOptions = [['TestingTorNetwork', '1'], ...network.dirAuthorities.map((d): [string, string] => ['DirAuthority', d])];
    network.timings.keysMs = Date.now() - started;
    for (const n of nodes) {
      const lines = [
        ...COMMON,
        ...(n.dirPort ? [...AUTHORITY, `DirPort 127.0.0.1:${n.dirPort}`, `ContactInfo ${n.nick}@test.invalid`] : []),
        `Nickname ${n.nick}`,
        `DataDirectory ${n.dataDir}`,
        `PidFile ${join(n.dataDir, 'pid')}`,
        `ORPort 127.0.0.1:${n.orPort}`,
        'ControlPort 127.0.0.1:auto',
        `ControlPortWriteToFile ${join(n.dataDir, 'control-port')}`,
        // Orphans die within ~15 s even if the test runner is killed before its afterAll.
        `__OwningControllerProcess ${process.pid}`,
        ...network.dirAuthorities.map((d) => `DirAuthority ${d}`),
      ];
      const torrc = join(n.dataDir, 'torrc');
      await writeFile(torrc, lines.join('\n') + '\n');
      n.proc = await spawnProc('tor', ['-f', torrc], { stdin: 'ignore', maxOutputChars: 200_000 });
    }
    // Clients started on a partial consensus pick their vanguards from it and stall for a minute (tor.md §4.4).
    await waitForFullConsensus(nodes[0]!, nodes.length, deadline, started);
    network.timings.consensusMs = Date.now() - started;
    return network;
  } catch (err) {
    await network.stop();
    const tails = nodes.map((n) => (n.proc ? `\n[${n.nick}]${n.proc.tails(800)}` : '')).join('');
    throw new Error(`${(err as Error).message}${tails}`, { cause: err });
  }
}

/** tor-gencert keys, the RSA identity fingerprint and the v3 identity: one DirAuthority line. */
async function authorityKeys(n: TorNode): Promise<string> {
  const k = (f: string) => join(n.dataDir, 'keys', f);
  const gencert = await spawnProc('tor-gencert', [
    '--create-identity-key', '--passphrase-fd', '0', '-m', '12', '-a', `127.0.0.1:${n.dirPort}`,
    '-i', k('authority_identity_key'), '-s', k('authority_signing_key'), '-c', k('authority_certificate'),
  ]);
  await gencert.write('\n'); // an empty passphrase, as chutney gives it
  gencert.closeStdin();
  const g = await withTimeout(gencert.exited, 60_000, 'tor-gencert');
  if (g.code !== 0) throw new Error(`tor-gencert failed (${g.code})${gencert.tails()}`);
  const fp = await spawnProc('tor', [
    '--quiet', '--ignore-missing-torrc', '-f', '/dev/null', '--DataDirectory', n.dataDir,
    '--Nickname', n.nick, '--ORPort', '1', '--list-fingerprint',
  ], { stdin: 'ignore' });
  const line = await fp.waitFor(new RegExp(`^${n.nick}( [0-9A-F]{4}){10}$`, 'm'), 60_000, { stream: 'stdout' });
  await fp.exited;
  const rsa = line.split(' ').slice(1).join('');
  const v3 = /^fingerprint ([0-9A-F]{40})$/m.exec(await readFile(k('authority_certificate'), 'utf8'))?.[1];
  if (!v3) throw new Error(`no v3 identity in ${k('authority_certificate')}`);
  return `${n.nick} orport=${n.orPort} no-v2 v3ident=${v3} 127.0.0.1:${n.dirPort} ${rsa}`;
}

/**
 * Polls an authority until its consensus lists every node as Running, Valid, Guard and HSDir (or, in
 * the last third of the time, all nodes but one).
 */
async function waitForFullConsensus(auth: TorNode, count: number, deadline: number, since = Date.now()): Promise<void> {
  let control: TorControl | undefined;
  let seen = 0;
  try {
    while (Date.now() < deadline) {
      if (!control || control.closed) {
        const m = /PORT=127\.0\.0\.1:(\d+)/.exec(await readFile(join(auth.dataDir, 'control-port'), 'utf8').catch(() => ''));
        if (m) {
          control = await TorControl.connect({ host: '127.0.0.1', port: Number(m[1]) });
          await authenticate(control);
        }
      }
      if (control) {
        const ns = await control.getInfoOne('ns/all').catch(() => '');
        seen = ns.split('\n').filter((l) => l.startsWith('s ') && ['Running', 'Valid', 'Guard', 'HSDir'].every((f) => l.includes(f))).length;
        if (seen >= count) return;
        // On a loaded machine one node may miss a vote and wait for the next: once most of the time
        // is gone, all but one is a network that builds circuits and stores descriptors all the same.
        if (seen >= count - 1 && Date.now() > deadline - (deadline - since) / 3) return;
      }
      if (auth.proc?.exitInfo) throw new Error(`${auth.nick} exited`);
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`the private network's consensus listed ${seen} of ${count} relays before the deadline`);
  } finally {
    control?.destroy();
  }
}

/** A base port with base+i (ORPorts) and base+100+i (DirPorts) free for now. */
async function freeBase(n: number): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = randomInt(20_000, 60_000);
    const ports = Array.from({ length: n }, (_, i) => [base + i, base + 100 + i]).flat();
    if ((await Promise.all(ports.map(isFree))).every(Boolean)) return base;
  }
  throw new Error('no free port range for the private Tor network');
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

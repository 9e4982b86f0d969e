// FOAF directory test helpers: a store with an account and contacts, a Directory over it, a fake network that
// carries it (for commands and features), and rdflib (Debian's python3-rdflib) as the independent Turtle parser.
import { spawnSync } from 'node:child_process';
import { FakePeerNetwork } from '../../gateway/bridge/fake-peer-network.js';
import type { DirectoryNetwork, SelfInfo } from '../../gateway/bridge/contract.js';
import { Directory } from '../../gateway/directory/directory.js';
import type { RankMode } from '../../gateway/directory/rank.js';
import { openStore, type Store } from '../../gateway/store/index.js';
import { tmpDir } from './identities.js';

export const fp = (c: string): string => c.repeat(64).slice(0, 64);

export interface DirectoryFixture {
  store: Store;
  account: number;
  self: string;
  directory: Directory;
  /** A fake network whose contacts are the store's and whose directory is `directory`. */
  network: FakePeerNetwork & { directory: DirectoryNetwork };
  addContact(fingerprint: string, name: string, address?: string): void;
}

export function directoryFixture(opts: { self?: string; rank?: RankMode } = {}): DirectoryFixture {
  const store = openStore(tmpDir('foaf'));
  const account = store.accounts.ensure('me@localhost');
  const self = opts.self ?? fp('f');
  const share = `tlsim://${self}@127.0.0.1:18765`;
  const directory = new Directory({ store, accountId: account, self: () => ({ fingerprint: self, share }), rank: () => opts.rank ?? 'distance' });
  class Net extends FakePeerNetwork {
    readonly directory = directory;
    selfInfo(): SelfInfo {
      return { fingerprint: self, share, listening: [], transport: 'direct', online: 0, queued: 0 };
    }
  }
  const network = new Net();
  return {
    store,
    account,
    self,
    directory,
    network,
    addContact(fingerprint, name, address = '127.0.0.1:4000') {
      store.contacts.upsert(account, fingerprint, { state: 'contact', name, address });
      network.addFakeContact({ id: fingerprint, name, state: 'contact' });
    },
  };
}

/** The triples rdflib reads from Turtle, as sorted N-Triples lines (blank nodes as _:b). */
export function rdflibTriples(turtle: string): string[] {
  const py = [
    'import sys, rdflib',
    'g = rdflib.Graph()',
    'g.parse(data=sys.stdin.read(), format="turtle")',
    'def n(t): return "_:b" if isinstance(t, rdflib.BNode) else t.n3()',
    'for s, p, o in g: print(n(s), n(p), n(o))',
  ].join('\n');
  const r = spawnSync('/usr/bin/python3', ['-c', py], { input: turtle, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`rdflib could not parse the profile: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean).sort();
}

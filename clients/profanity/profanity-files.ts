// Profanity (0.13) from files: the account in $XDG_DATA_HOME/profanity/accounts and the gateway's server
// certificate in $XDG_DATA_HOME/profanity/tlscerts, both GLib key files. Profanity trusts a certificate that
// fails verification when its SHA-1 fingerprint (lower-case hex, no colons) names a group of tlscerts: the
// group is what `/tls always` writes, so a pinned certificate logs in with no question.
import { X509Certificate } from 'node:crypto';
import { mergeGroup, readKeyFile, type KeyFileMerge } from './keyfile.js';

export interface ProfanityAccount {
  jid: string;
  /** The localpart: the nick in rooms (without muc.nick Profanity takes the domain). */
  user: string;
  server: string;
  port: number;
  /** Read by Profanity with `cat` at each login (eval_password), so no copy of the password is made. */
  passwordFile: string;
}

/** Single quotes for sh and for GLib's argv parser alike. */
const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Our account into the accounts file: the group whose jid is ours (one the user made by hand), else a group
 * named after the JID, so `/connect me@localhost` and `profanity -a me@localhost` find it. Other groups
 * are kept byte for byte, and in ours only the keys we set change.
 */
export function mergeProfanityAccount(text: string | undefined, a: ProfanityAccount): KeyFileMerge & { name: string } {
  const existing = text === undefined ? new Map() : readKeyFile(text, 'profanity accounts');
  const name = [...existing].find(([, keys]) => keys.get('jid') === a.jid)?.[0] ?? a.jid;
  const merged = mergeGroup(
    text,
    name,
    {
      set: {
        enabled: 'true',
        jid: a.jid,
        server: a.server,
        port: String(a.port),
        'tls.policy': 'force',
        eval_password: `cat ${shellQuote(a.passwordFile)}`,
      },
      defaults: { resource: 'profanity', 'muc.nick': a.user },
      // A saved password wins over eval_password in Profanity: an old one would be used instead.
      remove: ['password'],
    },
    'profanity accounts',
  );
  return { ...merged, name };
}

export interface PinnedCert {
  /** Profanity's name for it: SHA-1, lower-case hex. */
  fingerprint: string;
  merge: KeyFileMerge;
}

/** X509Certificate's "CN=a\nO=b" as OpenSSL's one-line form "/CN=a/O=b", which Profanity shows and parses. */
const oneLine = (name: string): string => name.split('\n').map((part) => `/${part}`).join('');

/** The server certificate pinned in the tlscerts file, with the details `/tls trusted` shows. */
export function pinProfanityCert(text: string | undefined, certPem: string): PinnedCert {
  const cert = new X509Certificate(certPem);
  const fingerprint = cert.fingerprint.replace(/:/g, '').toLowerCase();
  const keyType = cert.publicKey.asymmetricKeyType;
  const merge = mergeGroup(
    text,
    fingerprint,
    {
      set: {},
      defaults: {
        version: '3',
        serialnumber: cert.serialNumber.toUpperCase(),
        subjectname: oneLine(cert.subject),
        issuername: oneLine(cert.issuer),
        start: cert.validFrom,
        end: cert.validTo,
        ...(keyType === 'rsa' ? { keyalg: 'rsaEncryption' } : keyType === 'ec' ? { keyalg: 'id-ecPublicKey' } : {}),
      },
    },
    'profanity tlscerts',
  );
  return { fingerprint, merge };
}

// How a contact is named in what the user reads: its name, else a short fingerprint.
import type { StoredContact } from '../store/index.js';

export function short(fp: string): string {
  return fp.slice(0, 12);
}

export function displayName(c: StoredContact): string {
  return c.name ?? short(c.fingerprint);
}

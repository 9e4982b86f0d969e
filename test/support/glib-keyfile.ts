// A GLib key file as GLib itself reads it (GKeyFile through PyGObject): the parser Profanity and other GLib
// clients use, not ours. { group: { key: value } }.
import { spawnSync } from 'node:child_process';

export function readByGlib(file: string): Record<string, Record<string, string>> {
  const py = `import json,sys
from gi.repository import GLib
k=GLib.KeyFile()
k.load_from_file(sys.argv[1], GLib.KeyFileFlags.NONE)
print(json.dumps({g:{n:k.get_string(g,n) for n in k.get_keys(g)[0]} for g in k.get_groups()[0]}))`;
  const r = spawnSync('/usr/bin/python3', ['-c', py, file], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`GLib could not read ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, Record<string, string>>;
}

// A real-looking ~/.purple/accounts.xml with two accounts that are not ours (an XMPP one elsewhere and
// an IRC one, with a comment Pidgin never writes), and Python's reading of such a file: the fixture of
// `setup pidgin`'s tests, with the CLI alone and with real Pidgin.
import { spawnSync } from 'node:child_process';

export const ALICE = `<account>
		<protocol>prpl-jabber</protocol>
		<name>alice@example.org/Home</name>
		<password>s3cret &amp; more</password>
		<alias>Alice at work</alias>
		<settings>
			<setting name='connection_security' type='string'>require_tls</setting>
			<setting name='port' type='int'>5222</setting>
		</settings>
		<settings ui='gtk-gaim'>
			<setting name='auto-login' type='bool'>1</setting>
		</settings>
		<current_error/>
	</account>`;
export const IRC = `<account>
		<protocol>prpl-irc</protocol>
		<name>alice@irc.libera.chat</name>
		<settings>
			<setting name='encoding' type='string'>UTF-8</setting>
		</settings>
		<!-- a comment Pidgin never writes, kept anyway: <account> -->
	</account>`;
export const EXISTING = `<?xml version='1.0' encoding='UTF-8' ?>\n\n<account version='1.0'>\n\t${ALICE}\n\t${IRC}\n</account>\n`;

/** The accounts as Python's ElementTree sees them: [protocol, name, password, port]. */
export function parsedByPython(file: string): string[][] {
  const py = `import json,sys,xml.etree.ElementTree as E
r=E.parse(sys.argv[1]).getroot()
print(json.dumps([[a.findtext('protocol'),a.findtext('name'),a.findtext('password') or '',next((s.text for s in a.iter('setting') if s.get('name')=='port'),'')] for a in r.findall('account')]))`;
  const r = spawnSync('/usr/bin/python3', ['-c', py, file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python could not parse ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[][];
}

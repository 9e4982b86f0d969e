// The gateway's name and version. XEP-0092.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Feature } from '../xmpp/feature.js';
import { x } from '../xmpp/xml/element.js';

const NS_VERSION = 'jabber:iq:version';
const NAME = 'tlsim-gateway';

export const softwareVersion: Feature = {
  name: 'software-version',
  disco: { server: [NS_VERSION] },
  setup(ctx) {
    let version: string | undefined;
    // No <os/>: it says nothing useful about the gateway and is needless detail about the machine.
    const answer = () => x('query', { xmlns: NS_VERSION }, x('name', null, NAME), x('version', null, (version ??= packageVersion())));
    ctx.iq('server', 'get', NS_VERSION, 'query', answer);
    ctx.iq('peers', 'get', NS_VERSION, 'query', answer);
  },
};

/**
 * The version in our package.json. Looked up from this file's directory upwards because
 * the depth differs between the sources (gateway/features) and the build (dist/gateway/features).
 */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === NAME && pkg.version) return pkg.version;
    } catch {
      // No package.json here: keep going up.
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}

// GET /foaf (issue 13, stage 2): the loopback listener serves the public profile as text/turtle that rdflib reads;
// the crawler's fetch reads only http://…/foaf and stops reading a document past the limit.
import { createServer } from 'node:http';
import { connect } from 'node:net';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { fetchFoaf, startFoafServer } from '../../gateway/directory/http.js';
import { parseProfile } from '../../gateway/directory/profile-rdf.js';
import { directoryFixture, fp, rdflibTriples } from '../support/foaf.js';
import { removeTmpDirs } from '../support/identities.js';
import { closeServer, listenLocal } from '../support/net.js';

afterAll(() => removeTmpDirs());
const log = pino({ level: 'silent' });
const direct = (host: string, port: number) =>
  new Promise<import('node:net').Socket>((resolve, reject) => {
    const s = connect(port, host, () => resolve(s));
    s.once('error', reject);
  });

describe('GET /foaf', () => {
  it('serves the published profile as text/turtle, and only at /foaf', async () => {
    const f = directoryFixture();
    f.addContact(fp('b'), 'Bob');
    f.addContact(fp('c'), 'Hidden Carol');
    f.directory.setField('nick', 'alice');
    f.directory.setPublic(fp('b'), true);
    const server = await startFoafServer({ host: '127.0.0.1', port: 0, turtle: () => f.directory.turtle(), log });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/foaf`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/turtle; charset=utf-8');
      const body = await res.text();
      expect(rdflibTriples(body)).toContain(`<urn:tlsim:peer:${f.self}> <http://xmlns.com/foaf/0.1/knows> <urn:tlsim:peer:${fp('b')}>`);
      expect(body).not.toContain('Hidden Carol');
      expect((await fetch(`http://127.0.0.1:${server.port}/`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${server.port}/foaf`, { method: 'POST', body: 'x' })).status).toBe(405);

      const got = await fetchFoaf(`http://127.0.0.1:${server.port}/foaf`, 256 * 1024, direct);
      expect(got.kind).toBe('turtle');
      expect(parseProfile((got as { text: string }).text, f.self).fields.nick).toBe('alice');
    } finally {
      await server.close();
    }
  });

  it('the fetch refuses other URLs and stops reading a 10 MB answer at the limit', async () => {
    expect(await fetchFoaf('http://127.0.0.1:1/admin', 1000, direct)).toEqual({ kind: 'none', reason: expect.stringMatching(/not a profile URL/) });
    expect(await fetchFoaf('file:///etc/passwd', 1000, direct)).toMatchObject({ kind: 'none' });
    let sent = 0;
    const huge = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/turtle' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (sent < 10 * 1024 * 1024 && res.write(chunk)) sent += chunk.length;
        if (sent < 10 * 1024 * 1024) res.once('drain', pump);
        else res.end();
      };
      res.on('error', () => undefined);
      pump();
    });
    const port = await listenLocal(huge);
    try {
      const got = await fetchFoaf(`http://127.0.0.1:${port}/foaf`, 256 * 1024, direct);
      expect(got.kind).toBe('turtle');
      const text = (got as { text: string }).text;
      expect(text.length).toBeGreaterThan(256 * 1024);
      expect(text.length).toBeLessThan(1024 * 1024);
      expect(() => parseProfile(text, fp('a'))).toThrow(/over the limit/);
    } finally {
      huge.closeAllConnections();
      await closeServer(huge);
    }
  });
});

// XEP-0363 §5 on the status page listener: PUT a slot once, GET (and HEAD) a stored file. The token in the URL
// is the only credential, so these routes take no session and allow any origin (CORS, for web clients such as
// Converse.js on another page); what they serve can never run as the status page (CSP sandbox, nosniff).
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { UPLOAD_PATH, type UploadStore } from '../files/upload-store.js';

/** Types a browser may show inline; anything else is a download. */
const INLINE = /^(image\/(png|jpeg|gif|webp)|audio\/|video\/|text\/plain)/;

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, HEAD, PUT, OPTIONS',
  'access-control-allow-headers': 'Content-Type',
  'access-control-max-age': '86400',
};

export function isUploadPath(path: string): boolean {
  return path.startsWith(UPLOAD_PATH);
}

export async function serveUpload(uploads: UploadStore, req: IncomingMessage, res: ServerResponse, path: string, log: Logger): Promise<void> {
  const token = path.slice(UPLOAD_PATH.length).split('/')[0] ?? '';
  if (req.method === 'OPTIONS') return reply(res, 204, '');
  if (req.method === 'PUT') {
    const outcome = await uploads.put(token, req.headers['content-length'], req.headers['content-type'], req);
    if (outcome.status !== 201) log.info({ status: outcome.status, reason: outcome.text }, 'upload refused');
    // The rest of a refused body is not read: the connection goes with the answer.
    if (outcome.status !== 201) res.setHeader('connection', 'close');
    return reply(res, outcome.status, outcome.text.endsWith('\n') ? outcome.text : `${outcome.text}\n`);
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD, PUT, OPTIONS');
    return reply(res, 405, 'method not allowed\n');
  }
  const file = uploads.file(token);
  if (!file) return reply(res, 404, 'no such file (or it expired)\n');
  const disposition = INLINE.test(file.contentType) ? 'inline' : 'attachment';
  res.writeHead(200, {
    ...CORS,
    'content-type': file.contentType,
    'content-length': file.size,
    'content-disposition': `${disposition}; filename*=UTF-8''${encodeURIComponent(file.name)}`,
    'cache-control': 'private, max-age=3600',
    'x-content-type-options': 'nosniff',
    // Served from the status page's origin: a sandbox makes an uploaded page a script-less opaque origin.
    'content-security-policy': "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'",
    'referrer-policy': 'no-referrer',
  });
  if (req.method === 'HEAD') return void res.end();
  createReadStream(file.path).on('error', () => res.destroy()).pipe(res);
}

function reply(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { ...CORS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(text);
}

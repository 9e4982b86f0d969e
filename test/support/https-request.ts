// One HTTPS request to a gateway listener on loopback, trusting its CA: status, headers and body bytes.
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';

export interface HttpsReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpsRequest {
  port: number;
  path: string;
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer;
  ca: string;
  timeoutMs?: number;
}

export function httpsRequest(r: HttpsRequest): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: r.port, path: r.path, method: r.method ?? 'GET', headers: r.headers, ca: r.ca, servername: 'localhost', timeout: r.timeoutMs ?? 20_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer to ${r.method ?? 'GET'} ${r.path} within ${r.timeoutMs ?? 20_000} ms`)));
    req.on('error', reject);
    req.end(r.body);
  });
}

import { request as httpRequest } from 'node:http';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  json: unknown;
}

export interface RawRequest {
  method: string;
  /** Sent as-is on the request line (so malformed paths like `/products/%201` reach the server untouched). */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send the body with `transfer-encoding: chunked` instead of a content-length. */
  chunked?: boolean;
}

/**
 * A minimal HTTP/1.1 client on node:http: unlike fetch it sends paths and headers exactly as given, which the
 * bad-input checks need. A fresh connection per request keeps checks independent.
 */
export function send(baseUrl: string, req: RawRequest, timeoutMs = 10_000): Promise<RawResponse> {
  const base = new URL(baseUrl);
  const headers: Record<string, string> = { ...req.headers };
  if (req.body !== undefined && !req.chunked) headers['content-length'] = String(Buffer.byteLength(req.body));
  if (req.chunked) headers['transfer-encoding'] = 'chunked';
  return new Promise((resolve, reject) => {
    let answered = false;
    const r = httpRequest(
      {
        host: base.hostname.replace(/^\[|\]$/g, ''),
        port: base.port || 80,
        method: req.method,
        path: base.pathname.replace(/\/$/, '') + req.path,
        headers,
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text === '' ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    r.on('timeout', () => r.destroy(new Error(`${req.method} ${req.path}: no response within ${timeoutMs} ms`)));
    // A server may answer (413) and close before reading the whole body: once answered, later errors don't count.
    r.on('response', () => (answered = true));
    r.on('error', (err) => {
      if (!answered) reject(err);
    });
    if (req.body !== undefined) r.write(req.body);
    r.end();
  });
}

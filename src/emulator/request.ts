// Reading one request as Chutes does: its path, its Authorization header and its JSON body.
// Shared by both listeners (inference.ts, management.ts).

import type { IncomingMessage } from 'node:http';
import { DETAIL, detailResponse, type CannedResponse } from './chutes.js';

const MAX_BODY_BYTES = 1024 * 1024;

export type AuthHeader = { kind: 'absent' } | { kind: 'malformed' } | { kind: 'token'; token: string };

/** Chutes reads only Authorization, and takes its last space-separated word (facts: Authentication). */
export function readAuthorization(req: IncomingMessage): AuthHeader {
  const value = req.headers.authorization;
  if (value === undefined) return { kind: 'absent' };
  const token = value.trim().split(/\s+/).at(-1) ?? '';
  if (token === '' || /[^\x21-\x7e]/.test(token)) return { kind: 'malformed' };
  return { kind: 'token', token };
}

/** The request path without its query; the raw target when it is not a URL path. */
export function pathOf(req: IncomingMessage): string {
  try {
    return new URL(req.url ?? '/', 'http://emulator.invalid').pathname;
  } catch {
    return req.url ?? '/';
  }
}

export type BodyResult = { ok: true; json: Record<string, unknown> } | { ok: false; response: CannedResponse };

/** The body as a JSON object, or the answer Chutes gives instead (413 past 1 MiB, 400 for anything but an object). */
export async function readJsonObject(req: IncomingMessage): Promise<BodyResult> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return { ok: false, response: detailResponse(413, 'Request body too large') };
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return { ok: true, json: parsed as Record<string, unknown> };
    }
  } catch {
    // fall through to the 400 below
  }
  return { ok: false, response: detailResponse(400, DETAIL.invalidJson) };
}

/** The size of the prompt, which sets the size of the made-up completion. */
export function promptLength(body: Record<string, unknown>): number {
  return JSON.stringify(body.messages ?? body.prompt ?? '').length;
}

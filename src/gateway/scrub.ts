// What "scrubbed" takes out of a mirrored request: no credential and no client identity reaches the
// shadow. Names are matched after normalization (lowercase, letters and digits only, so `X-Api-Key`,
// `api_key` and `apiKey` are one name); a name is secret when it is one of SECRET_NAMES or contains
// one of SECRET_PARTS, or is configured. docs/reference/mirroring.md lists what a shadow receives.
//
// 1. Headers: secret ones are removed; client-address ones (X-Forwarded-For, X-Real-IP, Forwarded, …)
//    are removed, or replaced by a keyed hash of the address (`clientAddress: hash`), which keeps
//    per-client grouping without the address.
// 2. The query string: the values of secret parameters become `[redacted]` (names and order kept).
// 3. Bodies: JSON (any `+json` type too) and form-encoded bodies get the values of secret fields
//    replaced, at any depth; a body that claims to be one of them but cannot be parsed is not mirrored.
//    Other bodies pass as they are (nothing in them can be told apart).

import { createHmac, randomBytes } from 'node:crypto';

/** Names that are secret on their own (normalized). */
const SECRET_NAMES = ['key', 'sig', 'pwd', 'pass', 'pin', 'otp', 'jwt', 'sid', 'auth', 'cookie', 'setcookie'];
/** Parts that make any name containing them secret (normalized). */
const SECRET_PARTS = ['token', 'secret', 'password', 'passwd', 'passphrase', 'apikey', 'accesskey', 'privatekey', 'signature', 'credential', 'session', 'authorization', 'bearer', 'csrf', 'xsrf'];
/** Headers that carry the client's address (lowercase). */
export const CLIENT_ADDRESS_HEADERS = ['x-forwarded-for', 'x-real-ip', 'forwarded', 'true-client-ip', 'cf-connecting-ip', 'x-client-ip', 'x-cluster-client-ip', 'fastly-client-ip', 'x-original-forwarded-for'];

export const REDACTED = '[redacted]';

const normalize = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]/g, '');

export interface ScrubOptions {
  /** Header names removed on top of the defaults. */
  readonly headers?: readonly string[];
  /** Query parameter, JSON and form field names redacted on top of the defaults. */
  readonly fields?: readonly string[];
  /** Names that the defaults would redact but that are not secret here (e.g. a `key` that is a record's key). */
  readonly keep?: readonly string[];
  /** The client's address: dropped (default), or replaced by a keyed hash. */
  readonly clientAddress?: 'drop' | 'hash';
  /** Key of the address hash (random per process by default). */
  readonly hashKey?: Buffer;
}

export class Scrubber {
  private readonly extraHeaders: Set<string>;
  private readonly extraFields: Set<string>;
  private readonly keep: Set<string>;
  private readonly hashKey: Buffer;
  private readonly secretCache = new Map<string, boolean>();

  constructor(private readonly o: ScrubOptions = {}) {
    this.extraHeaders = new Set((o.headers ?? []).map((h) => h.toLowerCase()));
    this.extraFields = new Set((o.fields ?? []).map(normalize));
    this.keep = new Set((o.keep ?? []).map(normalize));
    this.hashKey = o.hashKey ?? randomBytes(32);
  }

  /** Whether a field, parameter or header name is secret by default or by configuration. */
  isSecret(name: string): boolean {
    let v = this.secretCache.get(name);
    if (v !== undefined) return v;
    const n = normalize(name);
    v = this.extraFields.has(n) || (!this.keep.has(n) && (SECRET_NAMES.includes(n) || SECRET_PARTS.some((p) => n.includes(p))));
    if (this.secretCache.size < 10_000) this.secretCache.set(name, v);
    return v;
  }

  /** A stable pseudonym of a client address (same address, same pseudonym, for this key). */
  pseudonym(address: string): string {
    return `anon-${createHmac('sha256', this.hashKey).update(address.trim()).digest('hex').slice(0, 16)}`;
  }

  /** The headers a shadow gets (names lowercase, as a record). */
  headers(h: Readonly<Record<string, string | string[]>>): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(h)) {
      if (this.extraHeaders.has(k) || this.isSecret(k)) continue;
      if (k === 'referer' || k === 'referrer') {
        // The page the client came from may carry its own credentials in the query.
        out[k] = Array.isArray(v) ? v.map((x) => this.path(x)) : this.path(v);
        continue;
      }
      if (CLIENT_ADDRESS_HEADERS.includes(k)) {
        if (this.o.clientAddress === 'hash' && k === 'x-forwarded-for') {
          const chain = (Array.isArray(v) ? v.join(',') : v).split(',');
          out[k] = chain.map((a) => this.pseudonym(a)).join(', ');
        }
        continue;
      }
      out[k] = v;
    }
    return out;
  }

  /** A path with the values of secret query parameters redacted. */
  path(path: string): string {
    const q = path.indexOf('?');
    if (q < 0) return path;
    return `${path.slice(0, q)}?${this.form(path.slice(q + 1))}`;
  }

  /** An `a=b&c=d` string with the values of secret names redacted (their names and order kept). */
  form(query: string): string {
    if (query === '') return query;
    return query
      .split('&')
      .map((pair) => {
        const eq = pair.indexOf('=');
        const rawName = eq < 0 ? pair : pair.slice(0, eq);
        let name: string;
        try {
          name = decodeURIComponent(rawName.replace(/\+/g, ' '));
        } catch {
          name = rawName;
        }
        return this.isSecret(name) ? `${rawName}=${encodeURIComponent(REDACTED)}` : pair;
      })
      .join('&');
  }

  /** A JSON value with the values of secret fields redacted, at any depth; `hits` counts them. */
  json(value: unknown, hits = { n: 0 }): unknown {
    if (Array.isArray(value)) return value.map((v) => this.json(v, hits));
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        if (this.isSecret(k)) {
          hits.n++;
          out[k] = REDACTED;
        } else out[k] = this.json(v, hits);
      }
      return out;
    }
    return value;
  }

  /**
   * A body as the shadow gets it: JSON and form bodies redacted; undefined when it claims to be one
   * of them but cannot be parsed (it cannot be told safe, so it is not mirrored).
   */
  body(body: Buffer, contentType: string): { body: Buffer; changed: boolean } | undefined {
    const type = contentType.toLowerCase();
    if (/^application\/(?:[\w.+-]+\+)?json\b|^text\/json\b|\+json\b/.test(type)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        return undefined;
      }
      const hits = { n: 0 };
      const redacted = this.json(parsed, hits);
      // Nothing secret: the body as the client sent it, byte for byte.
      return hits.n === 0 ? { body, changed: false } : { body: Buffer.from(JSON.stringify(redacted)), changed: true };
    }
    if (type.startsWith('application/x-www-form-urlencoded')) {
      const text = body.toString('latin1');
      const redacted = this.form(text);
      return redacted === text ? { body, changed: false } : { body: Buffer.from(redacted, 'latin1'), changed: true };
    }
    return { body, changed: false };
  }
}

// Bearer tokens and roles for the API. Tokens come from the configuration (api.tokens: a value, or an
// environment variable) and from SHADOWSCALE_API_TOKEN (admin) / SHADOWSCALE_API_READ_TOKEN (read).
// Without any token the API is open, so it may listen on a loopback address only.

import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { ShadowscaleError } from '../core/errors.js';

export type Role = 'read' | 'admin';

export interface Principal {
  /** The token's name; "loopback" when the API has no tokens. */
  readonly name: string;
  readonly role: Role;
}

interface TokenSpec {
  readonly name: string;
  readonly role: Role;
  readonly value?: string;
  readonly fromEnv?: string;
}

interface Known {
  readonly name: string;
  readonly role: Role;
  /** SHA-256 of the token: compared in constant time, whatever the lengths. */
  readonly digest: Buffer;
}

export const ENV_ADMIN_TOKEN = 'SHADOWSCALE_API_TOKEN';
export const ENV_READ_TOKEN = 'SHADOWSCALE_API_READ_TOKEN';
const MIN_TOKEN = 16;

const digest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/** Whether a listen host is a loopback address (the only place an API without tokens may listen). */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

export class Auth {
  private readonly known: Known[];

  /** Resolves the tokens; a missing or short environment token is a configuration error naming where. */
  constructor(tokens: readonly TokenSpec[], env: Readonly<Record<string, string | undefined>>, listenHost: string) {
    const known: Known[] = [];
    tokens.forEach((t, i) => {
      const value = t.value ?? env[t.fromEnv as string];
      const where = t.value !== undefined ? `api.tokens[${i}].value` : `api.tokens[${i}].fromEnv (${t.fromEnv})`;
      if (value === undefined || value.length < MIN_TOKEN) throw new ShadowscaleError('SHADOWSCALE_E_CONFIG_INVALID', `${where}: expected a token of at least ${MIN_TOKEN} characters${value === undefined ? ', the variable is not set' : ''}`);
      known.push({ name: t.name, role: t.role, digest: digest(value) });
    });
    for (const [variable, role] of [[ENV_ADMIN_TOKEN, 'admin'], [ENV_READ_TOKEN, 'read']] as const) {
      const value = env[variable];
      if (value === undefined || value === '') continue;
      if (value.length < MIN_TOKEN) throw new ShadowscaleError('SHADOWSCALE_E_CONFIG_INVALID', `${variable}: expected a token of at least ${MIN_TOKEN} characters`);
      known.push({ name: variable === ENV_ADMIN_TOKEN ? 'env-admin' : 'env-read', role, digest: digest(value) });
    }
    if (known.length === 0 && !isLoopbackHost(listenHost)) {
      throw new ShadowscaleError('SHADOWSCALE_E_CONFIG_INVALID', `api.listen: ${listenHost} is not a loopback address and no API token is configured; add api.tokens (or set ${ENV_ADMIN_TOKEN}), or listen on 127.0.0.1`);
    }
    this.known = known;
  }

  /** Whether any token is configured (without, every request is the loopback admin). */
  get open(): boolean {
    return this.known.length === 0;
  }

  /** The principal of an Authorization header, or the error to answer with. */
  authenticate(header: string | undefined): Principal | ShadowscaleError {
    if (this.open) return { name: 'loopback', role: 'admin' };
    const m = header === undefined ? null : /^Bearer ([^\s]+)\s*$/i.exec(header);
    if (!m) return new ShadowscaleError('SHADOWSCALE_E_API_UNAUTHORIZED', `Authorization: expected "Bearer TOKEN"${header === undefined ? ', got no header' : ''}`);
    const d = digest(m[1] as string);
    let found: Known | undefined;
    // Every token is compared (no early exit), each in constant time.
    for (const k of this.known) if (timingSafeEqual(k.digest, d)) found ??= k;
    if (!found) return new ShadowscaleError('SHADOWSCALE_E_API_UNAUTHORIZED', 'Authorization: unknown token');
    return { name: found.name, role: found.role };
  }
}

/** Whether `p` may do what needs `role`. */
export function allows(p: Principal, role: Role): boolean {
  return role === 'read' || p.role === 'admin';
}

// Header handling for a proxy (RFC 9110 §7.6.1): hop-by-hop fields, including those named by
// Connection, are not forwarded; X-Forwarded-For/-Proto/-Host describe the client.

import type { IncomingHttpHeaders } from 'node:http';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authenticate', 'proxy-authorization']);

/** The end-to-end fields of a header set: without hop-by-hop fields and those its Connection names. */
function endToEnd(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || named.has(k)) continue;
    out[k] = v;
  }
  return out;
}

/** Headers to send upstream: end-to-end fields only, plus the forwarding fields. */
export function forwardHeaders(incoming: IncomingHttpHeaders, clientAddress: string | undefined, proto: 'http' | 'https'): Record<string, string | string[]> {
  const out = endToEnd(incoming);
  const prior = incoming['x-forwarded-for'];
  const chain = [prior === undefined ? undefined : Array.isArray(prior) ? prior.join(', ') : prior, clientAddress].filter(Boolean).join(', ');
  if (chain) out['x-forwarded-for'] = chain;
  out['x-forwarded-proto'] = typeof incoming['x-forwarded-proto'] === 'string' ? incoming['x-forwarded-proto'] : proto;
  if (incoming.host && !incoming['x-forwarded-host']) out['x-forwarded-host'] = incoming.host;
  return out;
}

/** Response headers to send back to the client: end-to-end fields only. */
export function responseHeaders(upstream: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  return endToEnd(upstream);
}

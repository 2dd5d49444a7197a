// The mirror's default options, apart from the mirror itself so that the configuration schema (which
// every command loads) takes its defaults without loading the HTTP client.

import type { MirrorOptions } from './mirror.js';

export const MIRROR_DEFAULTS: Omit<MirrorOptions, 'targets'> = {
  rate: 0.1,
  minRate: 0,
  maxRate: 1,
  mirrorMutations: true,
  mutationMethods: ['POST', 'PUT', 'PATCH', 'DELETE'],
  mode: 'scrubbed',
  scrubHeaders: [],
  redactJsonFields: [],
  keepFields: [],
  clientAddress: 'drop',
  maxBodyBytes: 1 << 20,
  queueLimit: 1000,
  concurrency: 16,
  timeoutMs: 1000,
  metadataLimit: 10_000,
  armRate: 0,
  stateful: false,
};

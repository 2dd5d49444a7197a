// The one configuration schema. Every default lives here; unknown keys are errors. The JSON Schema
// for editors (schema/shadowscale.schema.json) is generated from it by `shadowscale config schema`.

import { z } from 'zod';
import { describeValue } from '../core/errors.js';
import { DEFAULT_SCALE_DOWN, DEFAULT_SCALE_UP, type HpaScalingRules } from '../core/hpa.js';

type Check = { error: (iss: { input?: unknown }) => string };
const expect = (what: string): Check => ({ error: (iss) => `expected ${what}, got ${describeValue(iss.input)}` });

const num = (what: string) => z.number(expect(what)).refine(Number.isFinite, expect(what));
const positive = () => num('a positive number').positive(expect('a positive number'));
const nonNegative = () => num('a number >= 0').nonnegative(expect('a number >= 0'));
const positiveInt = () => num('a positive integer').int(expect('a positive integer')).positive(expect('a positive integer'));
const nonNegativeInt = () => num('an integer >= 0').int(expect('an integer >= 0')).nonnegative(expect('an integer >= 0'));
const fraction = () => num('a number between 0 and 1').min(0, expect('a number between 0 and 1')).max(1, expect('a number between 0 and 1'));
const openFraction = () => num('a number strictly between 0 and 1').gt(0, expect('a number strictly between 0 and 1')).lt(1, expect('a number strictly between 0 and 1'));
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values, expect(`one of ${values.map((v) => `"${v}"`).join(', ')}`));
const str = (what: string) => z.string(expect(what));
const bool = () => z.boolean(expect('true or false'));
const isoTime = () => str('an ISO 8601 date-time').refine((s) => !Number.isNaN(Date.parse(s)), expect('an ISO 8601 date-time'));

const prices = z
  .strictObject({
    onDemandPerHour: nonNegative().default(0.1).describe('On-demand price per instance-hour'),
    spotPerHour: nonNegative().default(0.035).describe('Spot price per instance-hour'),
    reservedPerHour: nonNegative().default(0.065).describe('Effective reserved price per instance-hour'),
  })
  .describe('Prices per instance-hour, billed per second');

const instanceType = z
  .strictObject({
    slots: positiveInt().default(4).describe('Worker slots: requests served concurrently by one instance'),
    serviceTimeMs: positive().default(25).describe('Mean service time of one request (ms)'),
    memoryMb: positiveInt().default(512).describe('Memory of one instance (MB)'),
    queueLimit: nonNegativeInt().default(200).describe('Requests one instance queues beyond its slots before rejecting'),
    provisioningSeconds: nonNegative().default(60).describe('From request until the instance passes its readiness check'),
    warmupSeconds: nonNegative().default(60).describe('After readiness, until the instance reaches full capacity'),
    warmupCapacity: fraction().default(0.5).describe('Capacity fraction right after readiness (rises linearly to 1 over warmupSeconds)'),
    prices: prices.prefault({}),
  })
  .describe('An instance type: capacity, start-up behaviour and prices');

const scalingPolicy = z.strictObject({
  type: oneOf(['Pods', 'Percent']),
  value: positive(),
  periodSeconds: positive(),
});
const scalingRules = (defaults: HpaScalingRules) =>
  z.strictObject({
    stabilizationWindowSeconds: nonNegative().default(defaults.stabilizationWindowSeconds),
    selectPolicy: oneOf(['Max', 'Min', 'Disabled']).default(defaults.selectPolicy),
    policies: z.array(scalingPolicy, expect('a list of scaling policies')).min(1, expect('at least one policy')).default(defaults.policies.map((p) => ({ ...p }))),
  });

const reactive = z
  .strictObject({
    targetUtilization: openFraction().default(0.6).describe('Target mean utilization of ready instances (HPA averageUtilization / 100)'),
    tolerance: fraction().default(0.1).describe('No change while |utilization/target - 1| <= tolerance'),
    metricWindowSeconds: positive().default(30).describe('Window the utilization metric is averaged over'),
    // The HPA's documented defaults, defined once in core (src/core/hpa.ts).
    scaleUp: scalingRules(DEFAULT_SCALE_UP).prefault({}),
    scaleDown: scalingRules(DEFAULT_SCALE_DOWN).prefault({}),
  })
  .describe('The reactive rule: the Kubernetes HPA algorithm and behaviors');

export const STRATEGIES = ['reactive', 'predictive', 'hybrid'] as const;

const scaling = z.strictObject({
  strategy: oneOf(STRATEGIES).default('hybrid'),
  periodSeconds: positive().default(15).describe('How often the strategy decides'),
  leadTimeSeconds: nonNegative().optional().describe('How far ahead to add capacity; default: provisioning + warm-up of the instance type'),
  headroom: nonNegative().default(0.1).describe('Extra fraction above the forecast upper bound'),
  scaleInStabilizationSeconds: nonNegative().default(600).describe('Predictive: scale in only to the highest target of this window'),
  maxStepUp: positiveInt().default(1000).describe('Most instances added by one action'),
  maxStepDown: positiveInt().default(1000).describe('Most instances removed by one action'),
  cooldownUpSeconds: nonNegative().default(0).describe('Seconds between two scale-ups'),
  cooldownDownSeconds: nonNegative().default(0).describe('Seconds after any action before a scale-down'),
  staleMetricsSeconds: positive().default(60).describe('Metrics older than this are stale: no scale-in'),
  reactive: reactive.prefault({}),
  spot: z
    .strictObject({
      share: fraction().default(0).describe('Fraction of the instances above the reservation bought as spot'),
      interruptionsPerHour: nonNegative().default(0).describe('Chance per hour that a spot instance is reclaimed'),
    })
    .prefault({}),
  reservedInstances: nonNegativeInt().default(0).describe('Instances covered by a reservation (paid whether used or not)'),
});

const forecast = z.strictObject({
  model: oneOf(['fast-seasonal', 'fast-seasonal-log', 'seasonal-naive']).default('fast-seasonal').describe('Forecasting model the predictive strategy runs on'),
  refitHours: positive().default(6).describe('Full refit of the model at least this often; in between, new points only update its state'),
  seasonality: oneOf(['auto', 'daily', 'weekly', 'none']).default('auto'),
  level: openFraction().default(0.8).describe('Central prediction interval level; predictive scales to its upper bound'),
  refitSeconds: positive().default(300).describe('How often the forecast is recomputed'),
  historyDays: positive().default(28).describe('History kept for forecasting'),
});

const event = z.strictObject({
  name: str('an event name').min(1, expect('a non-empty name')),
  start: isoTime(),
  end: isoTime(),
  recurrence: oneOf(['none', 'daily', 'weekly', 'yearly']).default('none'),
  multiplier: positive().optional().describe('Expected demand multiplier during the event, if known'),
});

const sampling = z.strictObject({
  rate: fraction().default(0.1).describe('Fraction of live requests mirrored to the shadow'),
  key: str('a header name or "client-address"').optional().describe('Consistent sampling key; random when absent'),
  mirrorMutations: bool().default(true).describe('Always mirror POST/PUT/PATCH/DELETE (stateful shadows)'),
  mode: oneOf(['full', 'scrubbed', 'metadata']).default('scrubbed'),
  scrubHeaders: z.array(str('a header name'), expect('a list of header names')).default([]),
  redactJsonFields: z.array(str('a JSON field name'), expect('a list of field names')).default([]),
});

const service = z.strictObject({
  name: str('a service name').regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, expect('a DNS-style name (lowercase letters, digits, "-")')),
  instanceType: str('an instance type name').default('standard'),
  pool: z
    .strictObject({
      min: nonNegativeInt().default(1),
      max: positiveInt().default(200),
    })
    .prefault({}),
  shadow: z
    .strictObject({
      fraction: fraction().default(0.25).describe("Shadow size as a fraction of the live pool's worker slots"),
      sampling: sampling.prefault({}),
    })
    .prefault({}),
  slo: z
    .strictObject({
      latencyP99Ms: positive().default(200).describe('p99 latency objective (ms)'),
      errorRate: fraction().default(0.001).describe('Highest acceptable error rate per minute'),
    })
    .prefault({}),
  scaling: scaling.prefault({}),
  forecast: forecast.prefault({}),
  events: z.array(event, expect('a list of events')).default([]),
  dependencies: z.array(str('a service name'), expect('a list of service names')).default([]),
});

export const configSchema = z
  .strictObject({
    version: z.literal(1, expect('1')).default(1),
    instanceTypes: z.record(str('an instance type name'), instanceType, expect('a map of instance types')).default({ standard: instanceType.parse({}) }),
    services: z.array(service, expect('a list of services')).min(1, expect('at least one service')).default([service.parse({ name: 'web' })]),
    simulation: z
      .strictObject({
        seed: nonNegativeInt().default(42),
        noise: oneOf(['poisson', 'none']).default('poisson').describe('Arrival noise around the trace rate'),
      })
      .prefault({}),
  })
  .superRefine((cfg, ctx) => {
    const names = new Set<string>();
    cfg.services.forEach((s, i) => {
      if (names.has(s.name)) ctx.addIssue({ code: 'custom', path: ['services', i, 'name'], message: `duplicate service name "${s.name}"` });
      names.add(s.name);
      if (!(s.instanceType in cfg.instanceTypes)) {
        ctx.addIssue({ code: 'custom', path: ['services', i, 'instanceType'], message: `unknown instance type "${s.instanceType}" (defined: ${Object.keys(cfg.instanceTypes).join(', ') || 'none'})` });
      }
      if (s.pool.min > s.pool.max) ctx.addIssue({ code: 'custom', path: ['services', i, 'pool', 'min'], message: `min (${s.pool.min}) is above max (${s.pool.max})` });
      s.events.forEach((e, j) => {
        if (Date.parse(e.end) <= Date.parse(e.start)) ctx.addIssue({ code: 'custom', path: ['services', i, 'events', j, 'end'], message: `end (${e.end}) must be after start (${e.start})` });
      });
    });
    cfg.services.forEach((s, i) =>
      s.dependencies.forEach((d, j) => {
        if (!names.has(d)) ctx.addIssue({ code: 'custom', path: ['services', i, 'dependencies', j], message: `unknown service "${d}"` });
      }),
    );
  });

export type Config = z.output<typeof configSchema>;
export type ServiceConfig = Config['services'][number];
export type InstanceTypeConfig = Config['instanceTypes'][string];

// The one configuration schema. Every default lives here; unknown keys are errors. The JSON Schema
// for editors (schema/shadowscale.schema.json) is generated from it by `shadowscale config schema`.

import { z } from 'zod';
import { describeValue } from '../core/errors.js';
import { DEFAULT_SCALE_DOWN, DEFAULT_SCALE_UP, type HpaScalingRules } from '../core/hpa.js';
import { MIRROR_DEFAULTS } from '../gateway/mirror-defaults.js';
import { routeOverlaps } from '../gateway/routes.js';
import { LONGEST_OCCURRENCE, RECURRENCES } from '../core/events.js';
import { dependencyCycle } from '../core/dependencies.js';
import { maxRateAtSlo } from '../core/capacity.js';
import { DEFAULT_DELTA } from '../core/delta.js';
import { DEFAULT_SAMPLING } from '../core/sampling.js';
import { DEFAULT_SHIFT } from '../core/switchover.js';
import { PROM_PRESETS } from '../metrics/prometheus-presets.js';
import { BASE_VERSION } from '../providers/provider.js';

type Check = { error: (iss: { input?: unknown }) => string };
const expect = (what: string): Check => ({ error: (iss) => `expected ${what}, got ${describeValue(iss.input)}` });

const num = (what: string) => z.number(expect(what)).refine(Number.isFinite, expect(what));
const positive = () => num('a positive number').positive(expect('a positive number'));
const nonNegative = () => num('a number >= 0').nonnegative(expect('a number >= 0'));
const positiveInt = () => num('a positive integer').int(expect('a positive integer')).positive(expect('a positive integer'));
const nonNegativeInt = () => num('an integer >= 0').int(expect('an integer >= 0')).nonnegative(expect('an integer >= 0'));
/** A duration that ends up in a timer: a positive number of `unit` at most `max` (node's timers overflow past 24.8 days and fire at once). */
const duration = (max: number, unit: 'ms' | 's', zero = false) => {
  const what = `${zero ? 'a number >= 0' : 'a positive number'} of ${unit === 'ms' ? 'milliseconds' : 'seconds'}, at most ${max}`;
  const base = num(what).max(max, expect(what));
  return zero ? base.nonnegative(expect(what)) : base.positive(expect(what));
};
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

const versionName = () =>
  str('a version name')
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, expect('a version name of letters, digits, "_", "." or "-" (at most 63)'))
    .refine((v) => v !== BASE_VERSION, { message: `"${BASE_VERSION}" is the type's own command and env; it cannot be redefined` });
const version = z
  .strictObject({
    command: z.array(str('an argument'), expect('a list of arguments')).min(1, expect('a program and its arguments')).optional().describe("argv of this version's instances (default: provider.command)"),
    env: z.record(str('a variable name'), str('a string value'), expect('a map of environment variables')).default({}).describe("Environment of this version's instances, on top of the type's"),
  })
  .describe('A version of the service: what its instances run');

const instanceType = z
  .strictObject({
    slots: positiveInt().max(1024, expect('a positive integer, at most 1024')).default(4).describe('Worker slots: requests served concurrently by one instance, at most 1024 (the M/M/c model steps through every slot each simulated second: a billion hung the backtest)'),
    serviceTimeMs: positive().default(25).describe('Mean service time of one request (ms)'),
    memoryMb: positiveInt().default(512).describe('Memory of one instance (MB)'),
    queueLimit: nonNegativeInt().default(200).describe('Requests one instance queues beyond its slots before rejecting'),
    provisioningSeconds: duration(86_400, 's', true).default(60).describe('From request until the instance passes its readiness check (a local instance waits this long; at most a day)'),
    warmupSeconds: duration(86_400, 's', true).default(60).describe('After readiness, until the instance reaches full capacity (trials wait this long; at most a day)'),
    warmupCapacity: fraction().default(0.5).describe('Capacity fraction right after readiness (rises linearly to 1 over warmupSeconds)'),
    prices: prices.prefault({}),
    env: z.record(str('a variable name'), str('a string value'), expect('a map of environment variables')).default({}).describe('Local provider: extra environment of instances of this type'),
    versions: z
      .record(versionName(), version, expect('a map of versions'))
      .default({})
      .describe(`Versions of the service this type can run (shadowscale rollout): each may name its own command and environment; "${BASE_VERSION}" is the type's own command and env`),
  })
  .describe('An instance type: capacity, start-up behaviour and prices');

const scalingPolicy = z.strictObject({
  type: oneOf(['Pods', 'Percent']),
  value: positive(),
  periodSeconds: duration(1800, 's'),
});
const scalingRules = (defaults: HpaScalingRules) =>
  z.strictObject({
    stabilizationWindowSeconds: duration(3600, 's', true).default(defaults.stabilizationWindowSeconds),
    selectPolicy: oneOf(['Max', 'Min', 'Disabled']).default(defaults.selectPolicy),
    policies: z.array(scalingPolicy, expect('a list of scaling policies')).min(1, expect('at least one policy')).default(defaults.policies.map((p) => ({ ...p }))),
  });

const reactive = z
  .strictObject({
    targetUtilization: openFraction().default(0.6).describe('Target mean utilization of ready instances (HPA averageUtilization / 100)'),
    tolerance: fraction().default(0.1).describe('No change while |utilization/target - 1| <= tolerance'),
    metricWindowSeconds: duration(3600, 's').default(30).describe('Window the utilization metric is averaged over'),
    // The HPA's documented defaults, defined once in core (src/core/hpa.ts).
    scaleUp: scalingRules(DEFAULT_SCALE_UP).prefault({}),
    scaleDown: scalingRules(DEFAULT_SCALE_DOWN).prefault({}),
  })
  .describe('The reactive rule: the Kubernetes HPA algorithm and behaviors');

export const STRATEGIES = ['reactive', 'predictive', 'hybrid'] as const;

const scaling = z.strictObject({
  strategy: oneOf(STRATEGIES).default('hybrid'),
  mode: oneOf(['act', 'forecast-only'])
    .default('act')
    .describe('act: decisions change the live pool; forecast-only: everything runs (forecasts, proofs, decisions with reasons) and decisions are recorded as what would have been done, never acted on (the API can switch it)'),
  periodSeconds: duration(3600, 's').default(15).describe('How often the strategy decides'),
  leadTimeSeconds: duration(172_800, 's', true).optional().describe('How far ahead to add capacity; default: provisioning + warm-up of the instance type'),
  headroom: nonNegative().default(0.1).describe('policy forecast-upper: extra fraction above the forecast upper bound; also the proof gate\'s margin'),
  scaleInStabilizationSeconds: duration(86_400, 's', true).default(600).describe('policy forecast-upper: scale in only to the highest target of this window'),
  writeSignal: bool().default(true).describe("Stateful services (shadow.sync snapshot): forecast the write rate too and scale ahead for it at the requests per write served (reason mutations_ahead): writes often rise before reads"),
  predictive: z
    .strictObject({
      policy: oneOf(['slo', 'forecast-upper'])
        .default('slo')
        .describe('slo: capacity for the demand of the next lead time at the risk the error budget (slo.attainment) allows, calibrated online on the forecast errors; forecast-upper: the forecast upper bound plus headroom, with a fixed scale-in window'),
      targetAttainment: openFraction().optional().describe('policy slo: the attainment the policy aims for; default: half of the error budget spent, 1 - (1 - slo.attainment) / 2 (shadowscale tune may aim higher or lower so that the service meets slo.attainment at the least cost)'),
      calibrationSeconds: duration(30 * 86400, 's').default(2 * 86400).describe('policy slo: how long prediction errors are kept for calibration'),
      adaptRate: nonNegative().default(0.0005).describe('policy slo: how fast the risk follows the error budget: a good minute multiplies it by e^rate, a violated one divides it by about e^(rate / budget)'),
      adaptDecaySeconds: duration(365 * 86400, 's', true).default(86400).describe('policy slo: the risk adapts at adaptRate over this much judged time, then more gently: the rate falls as the square root of the time judged, to a fifth of adaptRate (0: always adaptRate)'),
      riskLevelExponent: num('a number between -3 and 3').min(-3, expect('a number between -3 and 3')).max(3, expect('a number between -3 and 3')).default(-0.5).describe("policy slo: the risk taken at a decision is the budget's risk times (prediction / the day's mean demand) to this power; negative: less risk while the demand is above its mean, where errors cluster (0: the same risk at every level)"),
      coldMargin: nonNegative().default(0.3).describe('policy slo: margin over the observed rate until enough errors are known'),
      scaleInHoldLeads: num('a number between 0 and 10').min(0, expect('a number between 0 and 10')).max(10, expect('a number between 0 and 10')).default(1).describe('policy slo: a scale-in goes no lower than the counts asked for over this many lead times (1: the restart cost, the break-even of keeping an idle instance)'),
    })
    .prefault({}),
  hybrid: z
    .strictObject({
      reactiveTargetUtilization: z
        .union([z.literal('auto'), openFraction()], expect('"auto" or a fraction in (0, 1)'))
        .default('auto')
        .describe("The reactive safety net's target utilization inside hybrid; auto: the utilization at which an instance still meets the SLO (the net acts only when live is past what the SLO allows)"),
    })
    .prefault({}),
  maxStepUp: positiveInt().default(1000).describe('Most instances added by one action'),
  maxStepDown: positiveInt().default(1000).describe('Most instances removed by one action'),
  cooldownUpSeconds: duration(86_400, 's', true).default(0).describe('Seconds between two scale-ups'),
  cooldownDownSeconds: duration(86_400, 's', true).default(0).describe('Seconds after any action before a scale-down'),
  staleMetricsSeconds: duration(86_400, 's').default(60).describe('Metrics older than this are stale: no scale-in'),
  reactive: reactive.prefault({}),
  spot: z
    .strictObject({
      share: fraction().default(0).describe('Fraction of the instances above the reservation bought as spot'),
      interruptionsPerHour: nonNegative().default(0).describe('Chance per hour that a spot instance is reclaimed'),
    })
    .prefault({}),
  reservedInstances: nonNegativeInt().default(0).describe('Instances covered by a reservation (paid whether used or not)'),
  switchover: z
    .strictObject({
      warmBeforeTraffic: bool().default(false).describe("New live instances of a scale-out take client requests only once their type's warm-up time has passed since they were ready (the first instances of a pool and adopted ones at once)"),
      rampIn: bool().default(false).describe('New live instances of a scale-out join at a fraction of a full weight and ramp in step by step, each step judged against the old instances (latency at comparable load per instance, errors); failed checks roll the ramp back and the instances are replaced (docs/design/switchover.md)'),
      stepWeight: num('a percent in (0, 100]').gt(0, expect('a percent in (0, 100]')).max(100, expect('a percent in (0, 100]')).default(DEFAULT_SHIFT.stepWeight).describe('Percent of a full weight added per step'),
      maxWeight: num('a percent in (0, 100]').gt(0, expect('a percent in (0, 100]')).max(100, expect('a percent in (0, 100]')).default(DEFAULT_SHIFT.maxWeight).describe('Percent of a full weight at which the new instances are promoted to it'),
      intervalSeconds: duration(3600, 's').default(10).describe('Seconds per step: the window each check judges'),
      threshold: positiveInt().default(DEFAULT_SHIFT.threshold).describe('Failed checks in a row that roll back'),
      maxInconclusive: positiveInt().default(DEFAULT_SHIFT.maxInconclusive).describe('Steps in a row with too little traffic to judge that count as one failed check'),
      typeRetrySeconds: duration(86_400, 's').default(600).describe('After a move to another instance type rolled back (or a restart rolled it back), no type change starts for this long: the proof that chose it would otherwise retry it at once'),
    })
    .refine((x) => x.maxWeight >= x.stepWeight, { message: 'maxWeight must be at least stepWeight', path: ['maxWeight'] })
    .prefault({}),
  warmPool: z
    .strictObject({
      size: nonNegativeInt().default(0).describe("Pre-started instances of the live type kept out of the balancer, fed sampled reads by the mirror (answers discarded) so they stay warm; a scale-out takes them first (they serve at once, already warm) and the pool is refilled. Their cost is shown (instance-seconds). 0: no warm pool"),
      reuseOnScaleIn: bool().default(true).describe('A scale-in returns instances to the warm pool while it is below its size, instead of deleting them'),
    })
    .prefault({})
    .describe('A warm pool (as AWS warm pools) for stateless services: a stateful one cannot keep warm instances in step with live'),
  rollout: z
    .strictObject({
      shadowWindows: positiveInt().default(3).describe('Delta-analysis windows in a row in which the new version on the shadow must match live (latency at comparable load, errors) before the capacity trial and the shift'),
      maxFailedWindows: positiveInt().default(2).describe('Windows in a row in which the new version is worse than live that stop the rollout in the shadow'),
      maxInconclusiveWindows: positiveInt().default(6).describe('Windows in a row with too little mirrored traffic to judge that stop the rollout in the shadow (nothing proven)'),
      capacityTrial: bool().default(true).describe("A trial on the shadow measures the new version's capacity per instance; production pre-scales for it"),
      maxCapacityLoss: fraction().default(0.25).describe("Largest drop of capacity per instance (share of the current version's) a rollout accepts; beyond it the rollout stops in the shadow"),
      shadowTimeoutSeconds: duration(86_400, 's').default(600).describe('The shadow phase (instances ready, windows judged) must finish within this'),
    })
    .prefault({})
    .describe('Version rollouts (shadowscale rollout): the shadow runs the new version first, a trial measures its capacity, then the switchover shifts live traffic in steps (scaling.switchover) with automatic rollback'),
  proof: oneOf(['required', 'advisory', 'off'])
    .default('required')
    .describe('Proof before change (docs/design/proof.md): required: a change acts only on a configuration a trial on the shadow proved (the reactive safety net excepted); advisory: act, and record what the proof said; off: no trials'),
  trials: z
    .strictObject({
      types: z.array(str('an instance type name'), expect('a list of instance type names')).optional().describe('Instance types trials may prove and the pool may move to; default: the service\'s own type only'),
      freshSeconds: duration(30 * 86400, 's').default(3600).describe('A trial proves rates per instance for this long after it finished'),
      samplesPerStep: positiveInt().max(100_000, expect('a positive integer at most 100000')).default(1000).describe('Answers per load step (at least 368 for an upper bound on a p99 at 95 %; with 1000, the bound is the 995th: a few stalls do not make a step inconclusive)'),
      maxStepSeconds: duration(3600, 's').default(60).describe('Longest load step of a trial'),
      maxConcurrent: positiveInt().max(64, expect('a positive integer at most 64')).default(1).describe('Trial instances at once'),
      budgetShare: fraction().default(0.1).describe("Trials may cost at most this share of the live pool's cost over budgetWindowSeconds"),
      budgetWindowSeconds: duration(30 * 86400, 's').default(3600).describe('The window the proof budget is counted over'),
      minTypeSaving: fraction().default(0.1).describe('Least saving (share of the current cost) for which a proven cheaper type replaces the current one'),
      path: str('a request path').regex(/^\//, expect('a path starting with /')).default('/work').describe('Request driven when there is no recorded request mix'),
      redundancy: z
        .strictObject({
          recoverySeconds: duration(600, 's').default(5).describe('The SLO must hold from this long after the loss on'),
          fault: oneOf(['kill', 'latency']).default('kill').describe('How the instance is lost: killed with no drain, or slowed (every request to it delayed by delayMs)'),
          delayMs: duration(60_000, 'ms').optional().describe('fault latency: the delay injected on every request to the instance'),
        })
        .optional()
        .describe('N+1 redundancy: a count is proven only when a chaos trial showed it holds the SLO after losing one instance; one instance never does'),
    })
    .prefault({}),
});

const forecast = z.strictObject({
  model: oneOf(['fast-seasonal', 'fast-seasonal-log', 'seasonal-naive']).default('fast-seasonal').describe('Forecasting model the predictive strategy runs on'),
  refitHours: num('a positive number of hours, at most 168').positive(expect('a positive number of hours, at most 168')).max(168, expect('a positive number of hours, at most 168')).default(6).describe('Full refit of the model at least this often; in between, new points only update its state'),
  seasonality: oneOf(['auto', 'daily', 'weekly', 'none']).default('auto'),
  level: openFraction().default(0.8).describe('Central prediction interval level; predictive scales to its upper bound'),
  refitSeconds: duration(86_400, 's').default(300).describe('How often the forecast is recomputed'),
  historyDays: num('a positive number of days, at most 400').positive(expect('a positive number of days, at most 400')).max(400, expect('a positive number of days, at most 400')).default(28).describe('History kept for forecasting'),
});

const event = z.strictObject({
  name: str('an event name').min(1, expect('a non-empty name')),
  start: isoTime(),
  end: isoTime(),
  recurrence: oneOf([...RECURRENCES]).default('none'),
  multiplier: num('a number from 0.001 to 1000')
    .min(0.001, expect('a number from 0.001 to 1000'))
    .max(1000, expect('a number from 0.001 to 1000'))
    .optional()
    .describe("Demand during an occurrence over demand without the event, when known: the strategies' forecasts (backtest and run) fit the history divided by it over past occurrences and multiply the forecast by it over coming ones, so capacity is added a lead time before the event starts. Without it, a yearly event takes in run the size its last occurrence showed in the store's hourly history when that is a lift (the same hours a week before and after as the baseline); other events reach Prophet's forecasts only (forecast --config), which learn their size from past occurrences"),
});

const sampling = z.strictObject({
  rate: fraction().default(MIRROR_DEFAULTS.rate).describe('Fraction of live requests mirrored to the shadow'),
  key: str('a header name or "client-address"').optional().describe('Consistent sampling key; random when absent'),
  mirrorMutations: bool().default(MIRROR_DEFAULTS.mirrorMutations).describe('Always mirror POST/PUT/PATCH/DELETE (stateful shadows)'),
  mode: oneOf(['full', 'scrubbed', 'metadata']).default(MIRROR_DEFAULTS.mode),
  scrubHeaders: z.array(str('a header name'), expect('a list of header names')).default([]).describe('Scrubbed mode: headers removed on top of the defaults (docs/reference/mirroring.md)'),
  redactJsonFields: z.array(str('a field name'), expect('a list of field names')).default([]).describe('Scrubbed mode: JSON fields, query parameters and form fields redacted on top of the defaults'),
  keepFields: z.array(str('a field name'), expect('a list of field names')).default([]).describe('Scrubbed mode: names the defaults would redact that are not secret here (e.g. a record\'s "key")'),
  clientAddress: oneOf(['drop', 'hash']).default('drop').describe("Scrubbed mode: the client's address headers are dropped, or X-Forwarded-For becomes a keyed hash per address"),
});

/** HOST:PORT (a bracketed IPv6 host allowed), or undefined when it is not one. The one parser of addresses. */
export function parseHostPort(v: string): { host: string; port: number } | undefined {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(v);
  const port = Number(m?.[2]);
  if (!m || port > 65535) return undefined;
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
}

export { urlHost } from '../core/address.js';

const hostPort = () => str('HOST:PORT').refine((v) => parseHostPort(v) !== undefined, expect('HOST:PORT (e.g. 127.0.0.1:8080, port 0 for any)'));
const httpUrl = () =>
  str('an http:// or https:// URL').refine((v) => {
    try {
      return ['http:', 'https:'].includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, expect('an http:// or https:// URL'));

const gateway = z
  .strictObject({
    service: str('a service name').optional().describe("Service whose shadow.sampling settings the gateway applies (default: the first)"),
    listen: hostPort().default('127.0.0.1:8080').describe('Address to serve traffic on'),
    admin: hostPort().optional().describe('Address of the admin API (metrics, stats, runtime changes)'),
    live: z.array(httpUrl(), expect('a list of URLs')).default([]).describe('Live upstream base URLs (the control loop manages them when it runs)'),
    shadow: z.array(httpUrl(), expect('a list of URLs')).default([]).describe('Shadow upstream base URLs'),
    workers: positiveInt().max(256, expect('a positive integer, at most 256')).default(1).describe('Worker processes sharing the port (node:cluster), at most 256; per-key mutation order is kept per connection when above 1'),
    timeoutMs: duration(3_600_000, 'ms').default(30_000).describe('Upstream response timeout (ms)'),
    ejectAfterFailures: positiveInt().default(5).describe('Consecutive failures that eject a live member'),
    routes: z
      .array(str('a path segment like "/api"').regex(/^\/[^/?#]+$/, expect('a first path segment like "/api"')), expect('a list of route classes'))
      .max(200, expect('at most 200 route classes'))
      .optional()
      .describe('Route classes measured (first path segments); when absent, learned from live answers below 400 (at most 50, then "other")'),
    ejectForMs: duration(86_400_000, 'ms').default(10_000).describe('How long an ejected member gets no traffic (ms)'),
    healthCheck: z
      .strictObject({
        path: str('a path').regex(/^\//, expect('a path starting with "/"')),
        intervalMs: duration(3_600_000, 'ms').default(5000),
        timeoutMs: duration(600_000, 'ms').default(2000),
      })
      .optional()
      .describe('Active health checks of the live members (off when absent)'),
    mirror: z
      .strictObject({
        minRate: fraction().default(MIRROR_DEFAULTS.minRate).describe('Lowest sampling rate the sampling controller may set'),
        maxRate: fraction().default(MIRROR_DEFAULTS.maxRate).describe('Highest sampling rate the sampling controller may set'),
        maxBodyBytes: nonNegativeInt().default(MIRROR_DEFAULTS.maxBodyBytes).describe('Bodies above this size are not mirrored'),
        queueLimit: positiveInt().default(MIRROR_DEFAULTS.queueLimit).describe('Mirrored requests waiting or in flight; more are dropped'),
        concurrency: positiveInt().default(MIRROR_DEFAULTS.concurrency).describe('Connections to the shadow pool'),
        timeoutMs: duration(600_000, 'ms').default(MIRROR_DEFAULTS.timeoutMs).describe('Mirrored requests slower than this are abandoned (ms)'),
        recordFile: str('a file path').optional().describe('Metadata mode: append the records to this JSON Lines file'),
      })
      .prefault({}),
  })
  .describe('The built-in gateway (shadowscale gateway --config FILE)');

const apiToken = z
  .strictObject({
    name: str('a token name').regex(/^[A-Za-z0-9_.-]{1,64}$/, expect('a name of letters, digits, "_", "." or "-" (at most 64)')).describe('Shown in the decisions an admin token records'),
    role: oneOf(['read', 'admin']).describe('read: every GET; admin: also pause, resume, mode and bounds'),
    value: str('a token of at least 16 characters').min(16, expect('a token of at least 16 characters')).optional().describe('The token itself (prefer fromEnv: a config file is often readable by many)'),
    fromEnv: str('an environment variable name').regex(/^[A-Za-z_][A-Za-z0-9_]*$/, expect('an environment variable name')).optional().describe('Environment variable holding the token'),
  })
  .refine((t) => (t.value === undefined) !== (t.fromEnv === undefined), { message: 'expected exactly one of value or fromEnv' });

const api = z
  .strictObject({
    listen: hostPort().default('127.0.0.1:0').describe('Address of the REST API, the dashboard (/) and /metrics (port 0: any free port; the address is printed at start and kept in the store for `shadowscale status`); without tokens it must be a loopback address'),
    tokens: z.array(apiToken, expect('a list of tokens')).default([]).describe('Bearer tokens with roles; SHADOWSCALE_API_TOKEN (admin) and SHADOWSCALE_API_READ_TOKEN (read) are added from the environment'),
    maxBodyBytes: positiveInt().max(1 << 20, expect('at most 1048576')).default(16 * 1024).describe('Largest request body the API reads'),
  })
  .describe('The REST API and dashboard served by `run` and `demo` (docs/reference/api.md)');

const stringMap = (what: string) => z.record(str(`a ${what} name`), str(`a ${what} value`), expect(`a map of ${what}s`));
const kubernetes = z
  .strictObject({
    namespace: str('a namespace').default('default').describe("The namespace of the services' Deployments (and of what shadowscale creates beside them)"),
    kubeconfig: str('a file path').optional().describe("A kubeconfig file; absent: the pod's service account in a cluster, else KUBECONFIG or ~/.kube/config"),
    deployments: z.record(str('a service name'), str('a Deployment name'), expect('a map of service names to Deployment names')).default({}).describe("The user's Deployment serving each service (its live pool; default: the service's name); its selector must be matchLabels"),
    port: positiveInt().max(65535, expect('a port number')).optional().describe("The container port instances answer on (default: the container's first port)"),
    container: str('a container name').optional().describe('The container instance types and versions apply to (default: the first)'),
    types: z
      .record(
        str('an instance type name'),
        z.strictObject({
          requests: stringMap('resource').optional().describe('e.g. { cpu: 500m, memory: 512Mi }'),
          limits: stringMap('resource').optional(),
          nodeSelector: stringMap('label').optional().describe('e.g. { karpenter.sh/capacity-type: spot }'),
          tolerations: z.array(z.record(z.string(), z.unknown()), expect('a list of tolerations')).optional(),
        }),
        expect('a map of instance types'),
      )
      .default({})
      .describe("Each instance type on Kubernetes: the container's resources and where its pods may run (a type not named keeps the template's)"),
    versions: z.record(str('a version name'), z.strictObject({ image: str('an image').optional(), env: stringMap('variable').optional() }), expect('a map of versions')).default({}).describe('The image (and environment) of each version a rollout can run'),
    leaderElection: z
      .strictObject({
        enabled: bool().default(true).describe('Replicas of shadowscale elect one leader on a Lease; only the leader ticks (acts)'),
        lease: str('a Lease name').default('shadowscale-leader'),
        identity: str('an identity').optional().describe('This replica (default: POD_NAME, else the host name and pid)'),
        leaseDurationSeconds: duration(3600, 's').default(15),
        renewDeadlineSeconds: duration(3600, 's').default(10).describe('The leader stops acting when it has not renewed for this long (shorter than the lease)'),
        retrySeconds: duration(600, 's').default(2),
      })
      .prefault({}),
  })
  .describe('provider.kind kubernetes (docs/design/kubernetes.md)');

const provider = z
  .strictObject({
    kind: oneOf(['local', 'kubernetes']).default('local').describe('Where instances run (local: child processes; kubernetes: pods of Deployments)'),
    kubernetes: kubernetes.optional(),
    command: z.array(str('an argument'), expect('a list of arguments')).min(1, expect('a program and its arguments')).optional().describe('argv of an instance, given PORT (default: the bundled sample service)'),
    cwd: str('a directory').optional(),
    env: z.record(str('a variable name'), str('a string value'), expect('a map of environment variables')).default({}).describe('Extra environment of every instance'),
    healthPath: str('a path').regex(/^\//, expect('a path starting with "/"')).default('/healthz'),
    readyTimeoutSeconds: duration(86_400, 's').default(60).describe('An instance not ready after this is failed'),
    graceSeconds: duration(3600, 's', true).default(10).describe('After SIGTERM, SIGKILL after this many seconds'),
    logDir: str('a directory').optional().describe("Instances' output (default: logs/ beside the store)"),
  })
  .describe('The instance provider');

const promQuery = (what: string) => str(`a PromQL template (${what})`).min(1, expect('a non-empty PromQL template'));
const metrics = z
  .strictObject({
    source: oneOf(['gateway', 'prometheus']).default('gateway').describe("Where the loop reads traffic: the embedded gateway's own counters, or Prometheus (PromQL per signal; docs/reference/prometheus.md)"),
    prometheus: z
      .strictObject({
        url: str('a URL').regex(/^https?:\/\/[^\s/]+(\/[^\s]*)?$/, expect('an http(s) URL like "http://prometheus:9090"')).describe('Base URL of the Prometheus HTTP API'),
        preset: oneOf(Object.keys(PROM_PRESETS) as [string, ...string[]]).default('shadowscale').describe("Query templates: shadowscale (the embedded gateway's metrics, scraped from run's /metrics), istio, ingress-nginx"),
        queries: z
          .strictObject({
            requestRate: promQuery('requests per second of {service} {pool} over {range}').optional(),
            errorRate: promQuery('failed requests per second').optional(),
            mutationRate: promQuery('writes per second').optional(),
            latencyBuckets: promQuery('per-second bucket increases by le, in seconds').optional(),
            lastSample: promQuery("the newest sample's time of {service}").optional(),
          })
          .prefault({})
          .describe("Templates that replace the preset's, per signal; {service}, {pool} (live or shadow) and {range} are filled in"),
        rangeSeconds: duration(3600, 's').default(60).describe('The rate window: at least 4 scrape intervals'),
        stalenessSeconds: duration(86_400, 's').default(120).describe("The service's newest sample older than this: metrics missing (nothing sensed; no scale-in)"),
        timeoutMs: duration(60_000, 'ms').default(2000).describe('Per query'),
        retries: nonNegativeInt().max(10, expect('at most 10')).default(2).describe('Of a query that failed (network, 5xx, timeout), with backoff'),
        backfillHistory: bool().default(true).describe("At start, the forecast's history the store lacks is read with query_range"),
      })
      .optional(),
  })
  .describe('Where traffic metrics come from');

const traffic = z
  .strictObject({
    kind: oneOf(['embedded', 'gateway-api', 'istio']).default('embedded').describe("embedded: clients reach the embedded gateway, which routes, mirrors and measures; gateway-api (provider.kind kubernetes): the cluster's Gateway routes by an HTTPRoute per service that shadowscale writes (weighted backends, a RequestMirror to the shadow's Service at the sampling rate), measured by Prometheus; istio: the same as an Istio VirtualService (weighted destinations, mirror and mirrorPercentage)"),
    gatewayApi: z
      .strictObject({
        parentRefs: z
          .array(z.strictObject({ name: str('a Gateway name'), namespace: str('a namespace').optional(), sectionName: str('a listener name').optional() }), expect('a list of Gateways'))
          .min(1, expect('at least one Gateway'))
          .describe('The Gateway(s) the routes attach to'),
        services: z
          .record(str('a service name'), z.strictObject({ route: str('an HTTPRoute name').optional(), liveService: str('a Service name').optional(), port: positiveInt().max(65535, expect('a port number')).optional(), targetPort: positiveInt().max(65535, expect('a port number')).optional() }), expect('a map of services'))
          .default({})
          .describe("Per service: its HTTPRoute's name (default: the service's), the live Service (default: the service's name), its port (default 80) and the pods' port (default: the port)"),
      })
      .optional(),
    istio: z
      .strictObject({
        gateways: z
          .array(str('an Istio Gateway, NAME or NAMESPACE/NAME'), expect('a list of Istio Gateways'))
          .default([])
          .describe("The Istio Gateways the VirtualServices bind to (NAME or NAMESPACE/NAME); none: the mesh's sidecars (traffic inside the mesh, addressed to the live Service)"),
        services: z
          .record(str('a service name'), z.strictObject({ route: str('a VirtualService name').optional(), liveService: str('a Service name').optional(), port: positiveInt().max(65535, expect('a port number')).optional(), targetPort: positiveInt().max(65535, expect('a port number')).optional() }), expect('a map of services'))
          .default({})
          .describe("Per service: its VirtualService's name (default: the service's), the live Service (default: the service's name), its port (default 80) and the pods' port (default: the port)"),
      })
      .optional(),
  })
  .describe('How clients reach the services (docs/design/kubernetes.md)');

const store = z
  .strictObject({
    path: str('a file path').default('shadowscale.db').describe('SQLite file of the metrics store'),
    maxSizeBytes: positiveInt().min(1 << 20, expect('at least 1048576 (1 MiB)')).optional().describe('Largest size of the store file; reaching it stops the loop and `run` exits (SHADOWSCALE_E_STORE_FAILED)'),
    retention: z
      .strictObject({
        rawSeconds: positive().default(6 * 3600).describe('How long raw samples (one per metric per tick) are kept'),
        minuteSeconds: positive().default(14 * 86400).describe('How long the 1-minute rollups are kept (what `tune --store` and the forecaster read)'),
        hourSeconds: positive().default(400 * 86400).describe('How long the 1-hour rollups are kept'),
        decisionsSeconds: positive()
          .default(90 * 86400)
          .describe('How long decisions, instance events and finished shadow experiments are kept (rollouts always; the newest decision of each service always); /metrics counts every one ever recorded'),
      })
      .prefault({}),
  })
  .describe('The embedded metrics store');

const control = z
  .strictObject({
    tickSeconds: num('a number of seconds from 0.1 to 3600')
      .min(0.1, expect('a number of seconds from 0.1 to 3600'))
      .max(3600, expect('a number of seconds from 0.1 to 3600'))
      .default(1)
      .describe('How often the loop senses (decisions follow scaling.periodSeconds), 0.1 s at least: every tick writes its samples to the store (0.0001 s wrote 14,000 a second)'),
    forecastBucketSeconds: positive().default(60).describe('Resolution of the demand history the forecaster sees (1 or 60 from the store)'),
    mutationDelta: z
      .strictObject({
        windows: positiveInt().default(3).describe('Windows (of delta.windowTicks ticks) in a row in which the live-vs-shadow mutation lag grew'),
        minShare: fraction().default(0.05).describe("Smallest growth of the lag over the last `windows` windows, as a share of the shadow's expected mutations in the last window, that counts as widening"),
        minMutations: positiveInt().default(20).describe('Fewest expected shadow mutations in a window for it to count'),
        resync: bool().default(true).describe('Stateful services (shadow.sync snapshot): a widening lag syncs the shadows again (false: only reported)'),
      })
      .prefault({})
      .describe("The live-vs-shadow mutation delta of services whose shadows get every mutation (shadow.sync snapshot, or sampling.mirrorMutations): mutations lost on the way to the shadow, or a shadow falling behind, make a lag that grows; widening, it is reported (event shadow_behind) and the shadows are synced again"),
    propagateDependencies: bool().default(true).describe("Scale a service ahead for what the services calling it are expected to send (reason dependency_ahead); false: each service scales on its own signals only"),
    dependencyWindowSeconds: duration(3600, 's').default(5).describe('How often the dependency graph reads the gateways to learn call ratios between services (one learning window)'),
    timeScale: positive().default(1).describe('The forecaster sees each real second as this many (compressed demo days); 1 in production'),
    delta: z
      .strictObject({
        windowTicks: positiveInt().default(10).describe('Ticks of traffic compared at once'),
        confirmWindows: positiveInt().default(3).describe('Consecutive degraded windows that confirm a degradation'),
        tolerance: nonNegative().default(DEFAULT_DELTA.tolerance).describe('Live latency may exceed the shadow by this fraction'),
        noiseFloorMs: nonNegative().default(DEFAULT_DELTA.noiseFloorMs),
        alpha: openFraction().default(DEFAULT_DELTA.alpha),
        minSamples: positiveInt().default(DEFAULT_DELTA.minSamples),
        loadRatioMax: num('a number >= 1').min(1, expect('a number >= 1')).default(DEFAULT_DELTA.loadRatioMax).describe('Per-instance loads (after normalisation by the capacity model) are compared within this ratio'),
        errorTolerance: fraction().default(DEFAULT_DELTA.errorTolerance),
        action: oneOf(['none', 'horizontal', 'shift', 'vertical']).default('horizontal').describe('On a confirmed live degradation: add an instance, halve the weight of the busiest live member, or move the live pool to verticalType'),
        verticalType: str('an instance type name').optional().describe('Instance type of the vertical action'),
      })
      .prefault({}),
    sampling: z
      .strictObject({
        adaptive: bool().default(true).describe('Raise the mirror rate while load changes fast'),
        fastChangePerSecond: positive().default(DEFAULT_SAMPLING.fastChangePerSecond),
        raiseFactor: num('a number >= 1').min(1, expect('a number >= 1')).default(DEFAULT_SAMPLING.raiseFactor),
        decayPerSecond: openFraction().default(DEFAULT_SAMPLING.decayPerSecond),
      })
      .prefault({}),
    capacityRefit: z
      .strictObject({
        enabled: bool().default(true).describe('Refit the service time from observed (load per instance, p99) pairs'),
        minPairs: positiveInt().default(30),
        everyTicks: positiveInt().default(30),
      })
      .prefault({}),
  })
  .describe('The control loop');

const service = z.strictObject({
  name: str('a service name').regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, expect('a DNS-style name (lowercase letters, digits, "-")')),
  instanceType: str('an instance type name').default('standard'),
  version: str('a version name').default(BASE_VERSION).describe(`The version live runs when no rollout has completed (a name in the instance type's versions, or "${BASE_VERSION}")`),
  pool: z
    .strictObject({
      min: nonNegativeInt().default(1),
      max: positiveInt().max(100_000, expect('a positive integer, at most 100000')).default(200).describe('Most live instances, at most 100,000 (a billion held the backtest past a minute on three days)'),
    })
    .prefault({}),
  shadow: z
    .strictObject({
      fraction: fraction().default(0.25).describe("Shadow size as a fraction of the live pool's worker slots"),
      instanceType: str('an instance type name').optional().describe("Instance type of the shadow instances (default: the service's)"),
      sync: oneOf(['none', 'snapshot']).default('none').describe('Stateful services: a new shadow gets the state of a live instance by a versioned sync (the gateway numbers mutations; those mirrored during the copy wait and are applied after it unless the snapshot has them: docs/design/live-loop.md), then every mirrored mutation reaches every shadow'),
      digestSeconds: duration(86_400, 's', true).default(30).describe('shadow.sync snapshot: how often each synced shadow\'s GET /state/digest is compared with live\'s (one live instance); two mismatches in a row sync it again; 0: never'),
      syncTimeoutSeconds: duration(3_600, 's').default(30).describe('shadow.sync snapshot: how long an instance may take to answer a state request (GET or PUT /state/snapshot, GET /state/digest): until its headers (a PUT\'s counted once its body is sent, i.e. the time to apply it) and between two chunks of its body. A copy-in that times out replaces the instance (it could still be applied later, over a newer one), so this must exceed the time the service takes to apply its largest state'),
      sampling: sampling.prefault({}),
      ab: z
        .strictObject({
          strategies: z
            .array(oneOf(STRATEGIES), expect('a list of strategies'))
            .min(2, expect('at least two strategies to compare'))
            .max(4, expect('at most four arms'))
            .refine((a) => new Set(a).size === a.length, expect('distinct strategies')),
          share: openFraction().default(0.5).describe('Fraction of live requests every arm receives (the same requests to each); each arm is sized for its share'),
        })
        .optional()
        .describe('A/B of strategies in the shadow: one shadow arm per strategy, each scaled by its strategy on the same mirrored sample; live is untouched'),
    })
    .prefault({}),
  slo: z
    .strictObject({
      latencyP99Ms: positive().default(200).describe('p99 latency objective (ms)'),
      errorRate: fraction().default(0.001).describe('Highest acceptable error rate per minute'),
      attainment: openFraction().default(0.999).describe('Share of minutes that must meet the latency and error objectives (the error budget is 1 - attainment); the predictive policy spends that budget and no more'),
    })
    .prefault({}),
  scaling: scaling.prefault({}),
  forecast: forecast.prefault({}),
  events: z.array(event, expect('a list of events')).default([]),
  dependencies: z
    .array(
      z.union(
        [
          str('a service name'),
          z
            .strictObject({
              service: str('a service name'),
              perRequest: positive().optional().describe('Calls the dependency receives per request of this service (its extra load is this times this service\'s demand)'),
              ratio: positive().optional().describe('Instances of the dependency per instance of this service (it is scaled to at least this share of this service\'s target)'),
            })
            .refine((d) => d.perRequest === undefined || d.ratio === undefined, expect('perRequest or ratio, not both')),
        ],
        expect('a service name, or { service, perRequest | ratio }'),
      ),
      expect('a list of dependencies'),
    )
    .default([])
    .describe('Services this one calls: scaled ahead when this one\'s demand is expected to rise (a name alone: one call per request until traffic shows the ratio), and its instances get their addresses (SHADOWSCALE_DEPENDENCY_NAME_URL, _HOST): live instances the live pool\'s, shadow and trial instances the shadow pool\'s'),
  routes: z
    .array(
      z
        .strictObject({
          host: str('a host name').regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)$/, expect('a host name without a port, like "shop.example"')).optional().describe('The Host it answers (any Host when absent)'),
          pathPrefix: str('a path prefix').regex(/^\/([^?#]*)$/, expect('a path prefix like "/api"')).optional().describe('Paths under it, whole segments ("/api" takes "/api/x", not "/apix"; every path when absent)'),
        })
        .refine((r) => r.host !== undefined || r.pathPrefix !== undefined, expect('a host, a pathPrefix or both')),
      expect('a list of routes'),
    )
    .default([])
    .describe('Requests of this service when one gateway serves several (shadowscale run): by Host and longest path prefix; a service without routes takes what no route takes (at most one may have none)'),
});

export const configSchema = z
  .strictObject({
    version: z.literal(1, expect('1')).default(1),
    instanceTypes: z.record(str('an instance type name'), instanceType, expect('a map of instance types')).default({ standard: instanceType.parse({}) }),
    gateway: gateway.prefault({}),
    provider: provider.prefault({}),
    store: store.prefault({}),
    metrics: metrics.prefault({}),
    traffic: traffic.prefault({}),
    api: api.prefault({}),
    control: control.prefault({}),
    services: z.array(service, expect('a list of services')).min(1, expect('at least one service')).default([service.parse({ name: 'web' })]),
    shadowPool: z
      .strictObject({
        mode: oneOf(['dedicated', 'shared']).default('dedicated').describe("dedicated: each service's shadow is sized by its shadow.fraction of its live pool; shared: one pool of `size` instances of `instanceType` (in worker slots) for every service's shadows and trials: each service keeps minPerService shadow instances for delta analysis, trials and the shadows they borrow of dependencies take the rest on demand"),
        size: positiveInt().optional().describe('shared: instances of instanceType the pool holds (its capacity in worker slots: size x the type\'s slots); ignored by dedicated'),
        instanceType: str('an instance type name').optional().describe("shared: the instance type the pool's size counts in (the shadows keep their services' types; a shadow takes its type's slots)"),
        minPerService: positiveInt().default(1).describe('shared: shadow instances every service keeps for delta analysis'),
      })
      .prefault({})
      .describe('Shadow capacity: a dedicated shadow per service, or one pool shared by the services of a run (docs/design/services.md)'),
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
      const type = cfg.instanceTypes[s.instanceType];
      if (type && !(maxRateAtSlo(type.slots, type.serviceTimeMs / 1000, s.slo.latencyP99Ms / 1000) > 0)) {
        ctx.addIssue({ code: 'custom', path: ['services', i, 'slo', 'latencyP99Ms'], message: `${s.slo.latencyP99Ms} ms cannot be met by instance type "${s.instanceType}" (mean service time ${type.serviceTimeMs} ms: even an idle instance has p99 ${(Math.log(100) * type.serviceTimeMs).toFixed(0)} ms); raise the SLO or use a faster type` });
      }
      const red = s.scaling.trials.redundancy;
      if (red?.fault === 'latency' && red.delayMs === undefined) ctx.addIssue({ code: 'custom', path: ['services', i, 'scaling', 'trials', 'redundancy', 'delayMs'], message: 'fault "latency" needs delayMs: the delay injected on every request to the slowed instance' });
      if (red && s.pool.max < 2) ctx.addIssue({ code: 'custom', path: ['services', i, 'scaling', 'trials', 'redundancy'], message: `N+1 redundancy needs room for two instances; pool.max is ${s.pool.max}` });
      (s.scaling.trials.types ?? []).forEach((t, j) => {
        if (!(t in cfg.instanceTypes)) ctx.addIssue({ code: 'custom', path: ['services', i, 'scaling', 'trials', 'types', j], message: `unknown instance type "${t}" (defined: ${Object.keys(cfg.instanceTypes).join(', ')})` });
      });
      if (s.scaling.warmPool.size > 0 && s.shadow.sync === 'snapshot') ctx.addIssue({ code: 'custom', path: ['services', i, 'scaling', 'warmPool', 'size'], message: 'a warm pool needs a stateless service: with shadow.sync "snapshot" its instances would miss live\'s writes (set size 0)' });
      if (s.pool.min > s.pool.max) ctx.addIssue({ code: 'custom', path: ['services', i, 'pool', 'min'], message: `min (${s.pool.min}) is above max (${s.pool.max})` });
      s.events.forEach((e, j) => {
        const length = Date.parse(e.end) - Date.parse(e.start);
        if (length <= 0) ctx.addIssue({ code: 'custom', path: ['services', i, 'events', j, 'end'], message: `end (${e.end}) must be after start (${e.start})` });
        const longest = LONGEST_OCCURRENCE[e.recurrence];
        if (length > longest.seconds * 1000) ctx.addIssue({ code: 'custom', path: ['services', i, 'events', j, 'end'], message: `a ${e.recurrence} event lasts at most ${longest.words}: from ${e.start} to ${e.end} it would overlap its next occurrence` });
      });
    });
    const vt = cfg.control.delta.verticalType;
    if (vt !== undefined && !(vt in cfg.instanceTypes)) ctx.addIssue({ code: 'custom', path: ['control', 'delta', 'verticalType'], message: `unknown instance type "${vt}" (defined: ${Object.keys(cfg.instanceTypes).join(', ')})` });
    if (cfg.control.delta.action === 'vertical' && vt === undefined) ctx.addIssue({ code: 'custom', path: ['control', 'delta', 'verticalType'], message: 'action "vertical" needs verticalType: the instance type to move the live pool to' });
    cfg.services.forEach((s, i) => {
      if (s.shadow.ab && s.shadow.sampling.mode === 'metadata') ctx.addIssue({ code: 'custom', path: ['services', i, 'shadow', 'ab'], message: 'A/B arms need requests to forward: sampling.mode "metadata" forwards none (use "scrubbed" or "full")' });
      if (s.shadow.instanceType !== undefined && !(s.shadow.instanceType in cfg.instanceTypes)) ctx.addIssue({ code: 'custom', path: ['services', i, 'shadow', 'instanceType'], message: `unknown instance type "${s.shadow.instanceType}" (defined: ${Object.keys(cfg.instanceTypes).join(', ')})` });
    });
    cfg.services.forEach((s, i) => {
      const types = new Set([s.instanceType, s.shadow.instanceType ?? s.instanceType, ...(s.scaling.trials.types ?? [])]);
      for (const t of types) {
        const def = cfg.instanceTypes[t];
        if (def && s.version !== BASE_VERSION && !(s.version in def.versions)) ctx.addIssue({ code: 'custom', path: ['services', i, 'version'], message: `version "${s.version}" is not defined for instance type "${t}" (have: ${[BASE_VERSION, ...Object.keys(def.versions)].join(', ')})` });
      }
    });
    const cycle = dependencyCycle(cfg.services.flatMap((s) => s.dependencies.map((d) => ({ from: s.name, to: typeof d === 'string' ? d : d.service }))).filter((e) => e.from !== e.to && names.has(e.to)));
    if (cycle) ctx.addIssue({ code: 'custom', path: ['services', cfg.services.findIndex((s) => s.name === cycle[0]), 'dependencies'], message: `dependencies form a cycle (${cycle.join(' -> ')}): scaling ahead propagates along them, so they must not loop` });
    // Two services' routes that take the same requests (a service without routes is checked when a run supervises it with others).
    for (const o of routeOverlaps(cfg.services.filter((s) => s.routes.length > 0).map((s) => ({ service: s.name, routes: s.routes })))) {
      ctx.addIssue({ code: 'custom', path: ['services', cfg.services.findIndex((s) => s.name === o.second.service), 'routes', o.second.index], message: `route ${o.match} is also service "${o.first.service}"'s: two services cannot take the same requests` });
    }
    const sp = cfg.shadowPool;
    if (sp.mode === 'shared') {
      const unit = sp.instanceType === undefined ? undefined : cfg.instanceTypes[sp.instanceType];
      if (sp.size === undefined) ctx.addIssue({ code: 'custom', path: ['shadowPool', 'size'], message: 'a shared shadow pool needs its size: instances of shadowPool.instanceType' });
      if (sp.instanceType === undefined) ctx.addIssue({ code: 'custom', path: ['shadowPool', 'instanceType'], message: 'a shared shadow pool needs the instance type its size counts in' });
      else if (!unit) ctx.addIssue({ code: 'custom', path: ['shadowPool', 'instanceType'], message: `unknown instance type "${sp.instanceType}" (defined: ${Object.keys(cfg.instanceTypes).join(', ')})` });
      if (unit && sp.size !== undefined) {
        // Every service's minimum, plus room for the largest trial instance any service may start (a pool without it would hold every proof back).
        const slotsOf = (t: string): number => cfg.instanceTypes[t]?.slots ?? 0;
        const minimum = cfg.services.reduce((a, s) => a + sp.minPerService * slotsOf(s.shadow.instanceType ?? s.instanceType), 0);
        const trial = Math.max(0, ...cfg.services.filter((s) => s.scaling.proof !== 'off').map((s) => Math.max(...[s.instanceType, ...(s.scaling.trials.types ?? [])].map(slotsOf))));
        const capacity = sp.size * unit.slots;
        if (capacity < minimum + trial) ctx.addIssue({ code: 'custom', path: ['shadowPool', 'size'], message: `${sp.size} x ${sp.instanceType} (${capacity} slots) cannot hold every service's ${sp.minPerService} shadow instance(s) (${minimum} slots)${trial > 0 ? ` plus one trial instance (${trial} slots)` : ''}: at least ${Math.ceil((minimum + trial) / unit.slots)}` });
      }
    }
    if (cfg.provider.kind === 'kubernetes') {
      if (!cfg.provider.kubernetes) ctx.addIssue({ code: 'custom', path: ['provider', 'kubernetes'], message: 'kind "kubernetes" needs provider.kubernetes (at least {}): the namespace, Deployments, instance types' });
      const k = cfg.provider.kubernetes;
      if (k && k.leaderElection.renewDeadlineSeconds >= k.leaderElection.leaseDurationSeconds) ctx.addIssue({ code: 'custom', path: ['provider', 'kubernetes', 'leaderElection', 'renewDeadlineSeconds'], message: `must be below leaseDurationSeconds (${k.leaderElection.leaseDurationSeconds}): a leader stops acting before another may take over` });
      for (const t of Object.keys(k?.types ?? {})) if (!(t in cfg.instanceTypes)) ctx.addIssue({ code: 'custom', path: ['provider', 'kubernetes', 'types', t], message: `unknown instance type "${t}" (defined: ${Object.keys(cfg.instanceTypes).join(', ')})` });
      for (const d of Object.keys(k?.deployments ?? {})) if (!names.has(d)) ctx.addIssue({ code: 'custom', path: ['provider', 'kubernetes', 'deployments', d], message: `unknown service "${d}"` });
      cfg.services.forEach((s, i) => {
        if (s.shadow.sync === 'snapshot') ctx.addIssue({ code: 'custom', path: ['services', i, 'shadow', 'sync'], message: 'a stateful shadow (sync "snapshot") is synced through the local provider\'s processes; on Kubernetes use sync "none" (or run the service with the local provider)' });
      });
    }
    if (cfg.traffic.kind !== 'embedded') {
      const kind = cfg.traffic.kind;
      const through = kind === 'istio' ? 'Istio' : 'the Gateway API';
      if (cfg.provider.kind !== 'kubernetes') ctx.addIssue({ code: 'custom', path: ['traffic', 'kind'], message: `"${kind}" routes to pods of Deployments: it needs provider.kind "kubernetes"` });
      if (cfg.metrics.source !== 'prometheus') ctx.addIssue({ code: 'custom', path: ['metrics', 'source'], message: `traffic through ${through} is measured by Prometheus: set source "prometheus" (the embedded gateway sees none of it)` });
      if (kind === 'gateway-api' && !cfg.traffic.gatewayApi) ctx.addIssue({ code: 'custom', path: ['traffic', 'gatewayApi'], message: 'kind "gateway-api" needs traffic.gatewayApi with its parentRefs (the Gateway the routes attach to)' });
      const block = kind === 'istio' ? 'istio' : 'gatewayApi';
      for (const d of Object.keys((kind === 'istio' ? cfg.traffic.istio : cfg.traffic.gatewayApi)?.services ?? {})) if (!names.has(d)) ctx.addIssue({ code: 'custom', path: ['traffic', block, 'services', d], message: `unknown service "${d}"` });
      // What only the embedded gateway can do.
      cfg.services.forEach((s, i) => {
        const sw = s.scaling.switchover;
        if (sw.rampIn) ctx.addIssue({ code: 'custom', path: ['services', i, 'scaling', 'switchover', 'rampIn'], message: 'a ramp-in weights single instances; one Service behind a route cannot (use traffic.kind embedded, or false)' });
        if (sw.warmBeforeTraffic) ctx.addIssue({ code: 'custom', path: ['services', i, 'scaling', 'switchover', 'warmBeforeTraffic'], message: 'new instances join their Service when ready; holding them out needs the embedded gateway (use false)' });
        if (s.scaling.warmPool.size > 0) ctx.addIssue({ code: 'custom', path: ['services', i, 'scaling', 'warmPool', 'size'], message: `a warm pool is fed copies of requests by the embedded gateway (use 0 with ${kind})` });
        if (s.shadow.ab) ctx.addIssue({ code: 'custom', path: ['services', i, 'shadow', 'ab'], message: `A/B arms are fed by the embedded gateway (remove ab with ${kind})` });
      });
    }
    if (cfg.metrics.source === 'prometheus' && !cfg.metrics.prometheus) ctx.addIssue({ code: 'custom', path: ['metrics', 'prometheus'], message: 'source "prometheus" needs metrics.prometheus with its url' });
    if (cfg.gateway.service !== undefined && !names.has(cfg.gateway.service)) ctx.addIssue({ code: 'custom', path: ['gateway', 'service'], message: `unknown service "${cfg.gateway.service}" (defined: ${[...names].join(', ')})` });
    if (cfg.gateway.mirror.minRate > cfg.gateway.mirror.maxRate) ctx.addIssue({ code: 'custom', path: ['gateway', 'mirror', 'minRate'], message: `minRate (${cfg.gateway.mirror.minRate}) is above maxRate (${cfg.gateway.mirror.maxRate})` });
    cfg.services.forEach((s, i) =>
      s.dependencies.forEach((d, j) => {
        const name = typeof d === 'string' ? d : d.service;
        if (!names.has(name)) ctx.addIssue({ code: 'custom', path: ['services', i, 'dependencies', j, ...(typeof d === 'string' ? [] : ['service'])], message: `unknown service "${name}"` });
        else if (name === s.name) ctx.addIssue({ code: 'custom', path: ['services', i, 'dependencies', j], message: `a service cannot depend on itself ("${name}")` });
      }),
    );
  });

export type Config = z.output<typeof configSchema>;
export type ServiceConfig = Config['services'][number];
export type InstanceTypeConfig = Config['instanceTypes'][string];

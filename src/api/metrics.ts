// The control plane's own metrics for Prometheus (`run`'s /metrics): instances per pool and state,
// forecast, decisions by reason, proofs by verdict, delta results, shadow sync, cost rates and tick
// duration, and the process's own (memory, heap, CPU, file descriptors, event-loop lag). Values are read at scrape time from the loop's state, the provider and the store, so
// nothing on the loop's path touches prom-client except the tick-duration histogram.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from '../config/schema.js';
import type { LoopCounters, TickReport } from '../control/loop.js';
import type { MirrorStats } from '../gateway/mirror.js';
import type { Store } from '../metrics/store.js';
import type { Provider } from '../providers/provider.js';
import type { ApiService } from './views.js';

export class RunMetrics {
  readonly registry = new Registry();
  private readonly tick: Histogram<'service'>;

  /** `mirror`: a service's gateway mirror counters (sampled, mirrored, dropped, failed), when there is a gateway. */
  constructor(cfg: Config, services: readonly ApiService[], store: Store, provider: Provider, now: () => number = Date.now, mirror?: (service: string) => Promise<MirrorStats>) {
    const reg = [this.registry];
    // The process's own: resident memory, heap, CPU, open files, handles and event-loop lag (prom-client's
    // defaults, process_* and nodejs_*): what an operator watches a long-running control plane by.
    collectDefaultMetrics({ register: this.registry });
    // Their totals are gauges named like counters, which promtool refuses; the same counts by type stay
    // (nodejs_active_handles, nodejs_active_requests, nodejs_active_resources: sum them for the total).
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
    if (mirror) {
      // Per service, a mirror counter by result (read from its gateway at scrape time).
      const mirrorCounter = (name: string, help: string, read: (m: MirrorStats) => Record<string, number>): void => {
        new Counter({
          name,
          help,
          labelNames: ['service', 'result'],
          registers: reg,
          async collect() {
            this.reset();
            for (const s of services) for (const [result, n] of Object.entries(read(await mirror(s.name)))) this.inc({ service: s.name, result }, n);
          },
        });
      };
      mirrorCounter('shadowscale_mirror_requests_total', 'Requests the gateway sampled for the shadow, and what became of them: mirrored, dropped (queue full, body too large, unredactable), failed at the shadow', (m) => ({ sampled: m.sampled, mirrored: m.mirrored, dropped: m.dropped, failed: m.failed }));
      mirrorCounter('shadowscale_warm_requests_total', 'Sampled reads copied to warming instances (the warm pool, new live instances before they serve), answers discarded: sent, failed, dropped (a target far behind)', (m) => ({ sent: m.warmSent, failed: m.warmFailed, dropped: m.warmDropped }));
    }
    const price = (type: string): number => cfg.instanceTypes[type]?.prices.onDemandPerHour ?? 0;
    new Gauge({
      name: 'shadowscale_instances',
      help: 'Instances per service, pool (live, shadow, warm: the warm pool out of the balancer) and state (requested = not failed or draining; warming = ready but within its type\'s warm-up)',
      labelNames: ['service', 'pool', 'state'],
      registers: reg,
      async collect() {
        this.reset();
        const all = await provider.list();
        const t = now();
        for (const s of services) {
          const warm = new Set(s.loop.state().warmPool?.ids ?? []);
          for (const pool of ['live', 'shadow', 'warm'] as const) {
            const xs = all.filter((i) => i.service === s.name && (pool === 'warm' ? warm.has(i.id) : i.pool === pool && !warm.has(i.id)) && i.labels.trial === undefined && i.labels.ab === undefined);
            const ready = xs.filter((i) => i.state === 'ready');
            this.set({ service: s.name, pool, state: 'requested' }, xs.filter((i) => i.state !== 'failed' && i.state !== 'draining').length);
            this.set({ service: s.name, pool, state: 'starting' }, xs.filter((i) => i.state === 'starting').length);
            this.set({ service: s.name, pool, state: 'ready' }, ready.length);
            this.set({ service: s.name, pool, state: 'warming' }, ready.filter((i) => i.readyAt !== undefined && t - i.readyAt < (cfg.instanceTypes[i.instanceType]?.warmupSeconds ?? 0) * 1000).length);
          }
          const trials = all.filter((i) => i.service === s.name && i.labels.trial !== undefined).length;
          this.set({ service: s.name, pool: 'trial', state: 'requested' }, trials);
        }
      },
    });
    new Gauge({
      name: 'shadowscale_desired_instances',
      help: "The live pool's target (what decisions set); in forecast-only mode or paused, what the last decision would have set is in shadowscale_would_have_instances",
      labelNames: ['service'],
      registers: reg,
      collect() {
        for (const s of services) this.set({ service: s.name }, s.loop.state().target);
      },
    });
    new Gauge({
      name: 'shadowscale_acting',
      help: '1 when decisions act on the live pool, 0 in forecast-only mode or while paused',
      labelNames: ['service', 'mode'],
      registers: reg,
      collect() {
        this.reset();
        for (const s of services) {
          const st = s.loop.state();
          this.set({ service: s.name, mode: st.paused ? 'paused' : st.mode }, st.notActing === null ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'shadowscale_forecast_requests_per_second',
      help: "The forecast of live demand for now: its mean and the bounds of its interval",
      labelNames: ['service', 'bound'],
      registers: reg,
      collect() {
        this.reset();
        for (const s of services) {
          const f = s.loop.state().lastTick?.forecast;
          if (!f) continue;
          this.set({ service: s.name, bound: 'mean' }, f.mean);
          this.set({ service: s.name, bound: 'lower' }, f.lower);
          this.set({ service: s.name, bound: 'upper' }, f.upper);
        }
      },
    });
    // Values of the latest tick (none before the first, or when not finite).
    const tickGauge = (name: string, help: string, read: (t: TickReport) => number | undefined): void => {
      new Gauge({
        name,
        help,
        labelNames: ['service'],
        registers: reg,
        collect() {
          this.reset();
          for (const s of services) {
            const t = s.loop.state().lastTick;
            const v = t ? read(t) : undefined;
            if (v !== undefined && Number.isFinite(v)) this.set({ service: s.name }, v);
          }
        },
      });
    };
    tickGauge('shadowscale_demand_requests_per_second', 'Live demand over the last tick', (t) => t.liveRps);
    tickGauge('shadowscale_cpu_cores', 'CPU cores the live pool used over the last tick (when the metrics source measures CPU)', (t) => t.cpu?.liveCores);
    tickGauge('shadowscale_mirror_ratio', "Fraction of live requests mirrored to the shadow (the sampling controller's rate)", (t) => t.mirrorRate);
    new Counter({
      name: 'shadowscale_decisions_total',
      help: 'Decisions recorded, by the reason that set the target (the strategy\'s, or the bound or gate\'s that replaced it), and whether they acted',
      labelNames: ['service', 'reason', 'acted'],
      registers: reg,
      collect() {
        this.reset();
        for (const s of services) for (const c of store.decisionCounts(s.name)) this.inc({ service: s.name, reason: c.reason, acted: c.acted ? 'true' : 'false' }, c.count);
      },
    });
    new Counter({
      name: 'shadowscale_experiments_total',
      help: 'Finished shadow experiments (trials, A/B) by kind and verdict',
      labelNames: ['service', 'kind', 'verdict'],
      registers: reg,
      collect() {
        this.reset();
        for (const c of store.experimentCounts()) if (services.some((s) => s.name === c.service)) this.inc({ service: c.service, kind: c.kind, verdict: c.verdict ?? 'open' }, c.count);
      },
    });
    // Counts the loop keeps since this run started, one label naming what each count is of.
    const loopCounter = (name: string, help: string, label: string, read: (c: LoopCounters) => Readonly<Record<string, number>>): void => {
      new Counter({
        name,
        help,
        labelNames: ['service', label],
        registers: reg,
        collect() {
          this.reset();
          for (const s of services) for (const [value, n] of Object.entries(read(s.loop.state().counters))) this.inc({ service: s.name, [label]: value }, n);
        },
      });
    };
    loopCounter('shadowscale_delta_results_total', 'Live vs shadow delta analyses by verdict, since this run started', 'verdict', (c) => c.deltaVerdicts);
    loopCounter('shadowscale_degradations_total', 'Confirmed degradations found by delta analysis (pool: the one that was worse), since this run started', 'pool', (c) => ({ live: c.liveDegraded, shadow: c.shadowDegraded }));
    loopCounter('shadowscale_shadow_syncs_total', 'State copies from a live instance to a new shadow (stateful services), by result, since this run started', 'result', (c) => ({ ok: c.shadowSyncs, failed: c.shadowSyncFailures }));
    loopCounter('shadowscale_live_state_copies_total', 'State copies from a serving live instance to a new one before it joined (stateful services), by result, since this run started', 'result', (c) => ({ ok: c.liveStateCopies, failed: c.liveStateCopyFailures }));
    loopCounter('shadowscale_shadow_digest_checks_total', 'Digest checks of synced shadows against live (stateful services), by result, since this run started', 'result', (c) => ({ checked: c.digestChecks, diverged: c.shadowDivergences }));
    loopCounter('shadowscale_mutation_deltas_total', 'Live-vs-shadow mutation-delta windows (services whose shadows get every mutation), by verdict, since this run started; resynced: widening windows that synced the shadows again', 'verdict', (c) => ({ ...c.mutationDeltas, resynced: c.mutationResyncs }));
    loopCounter('shadowscale_replacements_total', 'Failed instances replaced, by pool, since this run started', 'pool', (c) => c.replacements);
    new Gauge({
      name: 'shadowscale_cost_per_hour',
      help: "What the requested instances cost per hour now, by pool, at their types' on-demand prices (the configuration's currency)",
      labelNames: ['service', 'pool'],
      registers: reg,
      async collect() {
        this.reset();
        const all = await provider.list();
        for (const s of services) {
          for (const pool of ['live', 'shadow', 'trial'] as const) {
            const xs = all.filter((i) => i.service === s.name && i.state !== 'failed' && (pool === 'trial' ? i.labels.trial !== undefined : i.pool === pool && i.labels.trial === undefined && i.labels.ab === undefined));
            this.set({ service: s.name, pool }, xs.reduce((sum, i) => sum + price(i.instanceType), 0));
          }
        }
      },
    });
    this.tick = new Histogram({
      name: 'shadowscale_tick_duration_seconds',
      help: 'Duration of one control-loop tick (sense, decide, record, act)',
      labelNames: ['service'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: reg,
    });
  }

  /** A tick finished (the one thing observed on the loop's path). */
  observeTick(service: string, tickMs: number): void {
    this.tick.observe({ service }, tickMs / 1000);
  }
}

// `shadowscale demo --scenario NAME` (issue 13, docs/design/switchover.md): the switchovers anyone can run
// on this machine, each under steady open-loop client load with every answer kept (latency from its
// scheduled send, the instance and version that served it):
// - scale-out: the pool's minimum goes from 2 to 4; the new instances warm before traffic and ramp in;
// - rollout-good: v2 is judged on the shadow, its capacity measured, then shifted in and completed;
// - rollout-slow: v2-slow (3x slower) is stopped in the shadow: no client request reaches it;
// - rollout-flaky: v2-flaky passes the shadow and slows down during the shift: rolled back.
// The instances carry the demo's mark (interrupted scenarios are cleaned up as demos are).

import { rmSync } from 'node:fs';
import { setTimeout as wait } from 'node:timers/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/load.js';
import { percentile, startProbe, type ProbeAnswer } from '../gateway/loadgen.js';
import { DEMO_ENV, findLeftovers, processMark, removeLeftovers, throwawayDir } from './leftovers.js';
import type { LoopEvent } from './loop.js';
import { Runtime } from './runtime.js';
import { checkLoadFits, cleanDemoLeftovers, DemoInterrupted } from './demo.js';

export const SCENARIO_CONFIG = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'examples', 'demo', 'scenarios.yaml');
export const SCENARIOS = ['scale-out', 'rollout-good', 'rollout-slow', 'rollout-flaky'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** The version each rollout scenario rolls out. */
const VERSION: Record<Exclude<ScenarioName, 'scale-out'>, string> = { 'rollout-good': 'v2', 'rollout-slow': 'v2-slow', 'rollout-flaky': 'v2-flaky' };

/** `demo --scenario NAME --json` (the contract of issue 13). */
export interface ScenarioResult {
  readonly scenario: ScenarioName;
  readonly outcome: 'completed' | 'stopped_in_shadow' | 'rolled_back';
  readonly clientRequests: number;
  readonly clientErrors: number;
  /** p99 of the client requests the new instances served (scale-out: in their first 20 s; rollout: while they served); null when none did. */
  readonly newInstanceP99Ms: number | null;
  /** p99 of the old (warm) instances' requests over the same window (the whole run when no new instance served). */
  readonly warmInstanceP99Ms: number | null;
  /** From the first failed check to the weights restored (s), for a rollback during the shift. */
  readonly rollbackSeconds: number | null;
}

export interface ScenarioOptions {
  readonly scenario: ScenarioName;
  readonly rate?: number;
  readonly seed?: number;
  readonly configFile?: string;
  readonly signal?: AbortSignal;
  readonly onLog?: (line: string) => void;
  /** Most seconds the switchover may take before the scenario gives up (default 240). */
  readonly timeoutSeconds?: number;
}

const WINDOW_MS = 20_000;

/** p99 (nearest rank) to 0.01 ms, or null for none. */
const p99 = (xs: readonly number[]): number | null => (xs.length === 0 ? null : Math.round(100 * percentile(xs, 0.99)) / 100);

const sleep = (ms: number, signal?: AbortSignal): Promise<void> => wait(ms, undefined, signal ? { signal } : {});

async function waitFor(what: string, ok: () => boolean | Promise<boolean>, ms: number, signal?: AbortSignal): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`scenario: ${what} did not happen within ${ms / 1000} s`);
    await sleep(250, signal);
  }
}

export async function runScenario(o: ScenarioOptions): Promise<ScenarioResult> {
  const log = o.onLog ?? (() => undefined);
  await cleanDemoLeftovers();
  const mark = processMark();
  const dir = throwawayDir(`scenario-${o.scenario}`, mark);
  let rt: Runtime | undefined;
  try {
    const cfg = loadConfig({ file: o.configFile ?? SCENARIO_CONFIG, sets: [`store.path=${join(dir, 'store.db')}`, 'gateway.listen=127.0.0.1:0', 'api.listen=127.0.0.1:0'] });
    const svc = cfg.services[0];
    if (!svc) throw new Error('scenario: the configuration has no service');
    // Before anything starts: --rate 1e9 had exhausted the load generator's heap and left the instances.
    checkLoadFits(cfg, o.rate ?? 120, '--rate', 'the client load', false);
    const type = cfg.instanceTypes[svc.instanceType];
    const events: LoopEvent[] = [];
    rt = await Runtime.start({
      cfg,
      env: {},
      instanceEnv: { [DEMO_ENV]: mark },
      onEvent: (e) => {
        events.push(e);
        if (e.kind === 'rollout' || e.kind === 'switchover' || e.kind === 'action_failed') log(`${e.kind}: ${e.detail}`);
      },
    });
    const r = rt;
    if (r.apiUrl) log(`dashboard ${r.apiUrl}/ (API ${r.apiUrl}/api/v1)`);
    const warmMs = (type?.warmupSeconds ?? 0) * 1000;
    await waitFor('two warm live instances', async () => (await r.provider.list({ pool: 'live' })).filter((i) => i.state === 'ready' && Date.now() - (i.readyAt ?? Date.now()) >= warmMs).length >= 2 && (await r.gateway.members()).length >= 2, 60_000, o.signal);
    await waitFor('a warm shadow', async () => (await r.provider.list({ pool: 'shadow' })).some((i) => i.state === 'ready' && Date.now() - (i.readyAt ?? Date.now()) >= warmMs), 60_000, o.signal);
    const rate = o.rate ?? 120;
    log(`${o.scenario}: ${rate} req/s of open-loop client load on ${r.listen}`);
    const probe = startProbe({ url: r.listen, rate, seed: o.seed ?? 1 });
    let answers: ProbeAnswer[] = probe.answers;
    const timeout = (o.timeoutSeconds ?? 240) * 1000;
    try {
      await sleep(5000, o.signal);
      const before = new Set((await r.gateway.members()).map((m) => m.id));
      let outcome: ScenarioResult['outcome'];
      let rollbackSeconds: number | null = null;
      let newIds: (a: ProbeAnswer) => boolean;
      if (o.scenario === 'scale-out') {
        log('scale-out: the pool minimum raised from 2 to 4');
        r.loop.overrideBounds({ min: 4, until: Date.now() + 3_600_000 }, 'scenario');
        await waitFor('the ramp-in to finish', () => events.some((e) => e.kind === 'switchover' && /^ramp-in (promoted|rolled back)/.test(e.detail)), timeout, o.signal);
        outcome = events.some((e) => e.kind === 'switchover' && e.detail.startsWith('ramp-in promoted')) ? 'completed' : 'rolled_back';
        newIds = (a) => a.instance !== undefined && !before.has(a.instance);
        // The new instances' first 20 s of client traffic.
        const first = Math.min(...answers.filter(newIds).map((a) => a.at), Number.POSITIVE_INFINITY);
        if (Number.isFinite(first)) await sleep(Math.max(0, first + WINDOW_MS - Date.now()), o.signal);
      } else {
        const to = VERSION[o.scenario];
        log(`${o.scenario}: rolling out ${to}`);
        const started = r.loop.startRollout(to, 'scenario');
        await waitFor('the rollout to finish', () => r.loop.rolloutView()?.outcome !== undefined, timeout, o.signal);
        const v = r.loop.rolloutView();
        outcome = v?.outcome ?? 'rolled_back';
        rollbackSeconds = v?.rollbackSeconds ?? null;
        newIds = (a) => a.version === to;
        log(`${started.id}: ${outcome}${v?.why ? ` (${v.why})` : ''}`);
        await sleep(3000, o.signal);
      }
      await probe.stop();
      answers = probe.answers;
      const fresh = answers.filter(newIds);
      const first = fresh.length ? Math.min(...fresh.map((a) => a.at)) : undefined;
      const last = fresh.length ? Math.max(...fresh.map((a) => a.at)) : undefined;
      const inWindow = (a: ProbeAnswer): boolean => first === undefined || (a.at >= first && a.at <= (o.scenario === 'scale-out' ? first + WINDOW_MS : (last as number)));
      const ok = (a: ProbeAnswer): boolean => a.status === 200;
      return {
        scenario: o.scenario,
        outcome,
        clientRequests: answers.length,
        clientErrors: answers.filter((a) => !ok(a)).length,
        newInstanceP99Ms: p99(fresh.filter((a) => ok(a) && inWindow(a)).map((a) => a.ms)),
        warmInstanceP99Ms: p99(answers.filter((a) => ok(a) && !newIds(a) && inWindow(a)).map((a) => a.ms)),
        rollbackSeconds: rollbackSeconds === null ? null : Math.round(rollbackSeconds * 100) / 100,
      };
    } finally {
      await probe.stop();
    }
  } catch (err) {
    if (o.signal?.aborted) {
      await rt?.stop({ deleteInstances: true }).catch(() => undefined);
      const left = findLeftovers({ mark });
      const extra = await removeLeftovers({ instances: left.instances, directories: [dir] });
      throw new DemoInterrupted({ stopped: extra.stopped + (rt ? rt.stoppedInstances : 0), removed: extra.removed });
    }
    throw err;
  } finally {
    await rt?.stop({ deleteInstances: true }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

// What a Prometheus beside `run` scrapes (the demo's Prometheus variant, the tests): run's own /metrics (the
// embedded gateway's traffic, labelled by service), and each instance's /metrics labelled by its service and
// pool (the preset's CPU signal reads them). Kept current as instances come and go.
import type { PrometheusServer, ScrapeGroup } from '../metrics/prometheus-server.js';
import type { Instance, Provider } from '../providers/provider.js';

/** The scrape groups: run's API address, and the ready instances by service and pool. */
export function scrapeGroups(apiUrl: string | undefined, instances: readonly Instance[]): ScrapeGroup[] {
  const groups = new Map<string, { targets: string[]; labels: Record<string, string> }>();
  for (const i of instances) {
    if (i.state !== 'ready' || !i.url) continue;
    const key = `${i.service}\u0000${i.pool}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { targets: [], labels: { service: i.service, pool: i.pool } }));
    g.targets.push(new URL(i.url).host);
  }
  const out: ScrapeGroup[] = apiUrl ? [{ targets: [new URL(apiUrl).host], labels: {} }] : [];
  for (const g of groups.values()) out.push({ targets: g.targets.sort(), labels: g.labels });
  return out;
}

/** Rewrite the server's targets every `everyMs` while instances change; returns a stop function. */
export function keepScrapeTargets(server: Pick<PrometheusServer, 'setTargets'>, apiUrl: string | undefined, provider: Provider, everyMs = 1000): () => void {
  let last = '';
  let busy = false;
  const refresh = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      const groups = scrapeGroups(apiUrl, await provider.list());
      const text = JSON.stringify(groups);
      if (text !== last) {
        server.setTargets(groups);
        last = text;
      }
    } catch {
      // The provider stopping under us: the next refresh (if any) tries again.
    } finally {
      busy = false;
    }
  };
  void refresh();
  const timer = setInterval(() => void refresh(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

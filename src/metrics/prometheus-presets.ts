// The query templates of `metrics.prometheus` and their presets, apart from the client (prometheus.ts) so
// that the configuration schema, which every command loads, names the presets without loading undici.

/** The signals, as PromQL templates: {service}, {pool} (live or shadow) and {range} (e.g. "30s") are filled in. */
export interface PromQueries {
  /** Requests per second of a pool. */
  readonly requestRate: string;
  /** Failed requests per second (5xx, timeouts). */
  readonly errorRate: string;
  /** Writes (mutations) per second; absent: none counted. */
  readonly mutationRate?: string;
  /** Per-second increase of the latency histogram's buckets, by `le` (seconds). */
  readonly latencyBuckets: string;
  /** The newest sample's time of the service (staleness). */
  readonly lastSample: string;
  /** CPU cores the pool's instances use (CPU seconds per second); absent: not measured. */
  readonly cpuCores?: string;
}

export const PROM_PRESETS: Readonly<Record<string, PromQueries>> = {
  // The embedded gateway's metrics, as `shadowscale run` serves them on its /metrics (labelled by service).
  shadowscale: {
    requestRate: 'sum(rate(shadowscale_gateway_requests_total{service="{service}",pool="{pool}"}[{range}]))',
    errorRate: 'sum(rate(shadowscale_gateway_errors_total{service="{service}",pool="{pool}"}[{range}]))',
    mutationRate: 'sum(rate(shadowscale_gateway_mutations_total{service="{service}",pool="{pool}"}[{range}]))',
    latencyBuckets: 'sum by (le) (rate(shadowscale_gateway_request_duration_seconds_bucket{service="{service}",pool="{pool}"}[{range}]))',
    lastSample: 'max(timestamp(shadowscale_gateway_requests_total{service="{service}"}))',
    // The instances' own process metrics (the sample service's /metrics), scraped with the labels service and pool.
    cpuCores: 'sum(rate(process_cpu_seconds_total{service="{service}",pool="{pool}"}[{range}]))',
  },
  // Istio's standard metrics: the service's workload for live, its shadow Deployment's for the shadow.
  istio: {
    requestRate: 'sum(rate(istio_requests_total{reporter="destination",destination_workload=~"{workload}"}[{range}]))',
    errorRate: 'sum(rate(istio_requests_total{reporter="destination",destination_workload=~"{workload}",response_code=~"5.."}[{range}]))',
    latencyBuckets: 'sum by (le) (rate(istio_request_duration_milliseconds_bucket{reporter="destination",destination_workload=~"{workload}"}[{range}]))',
    lastSample: 'max(timestamp(istio_requests_total{reporter="destination",destination_workload=~"{service}.*"}))',
    // cAdvisor's (the kubelet's) per-container CPU, by the pool's pod names.
    cpuCores: 'sum(rate(container_cpu_usage_seconds_total{pod=~"{pods}",container!="",container!="POD"}[{range}]))',
  },
  // ingress-nginx: live traffic only (mirrored requests never pass the ingress), so no shadow figures.
  'ingress-nginx': {
    requestRate: 'sum(rate(nginx_ingress_controller_requests{service="{service}",pool="{pool}"}[{range}]))',
    errorRate: 'sum(rate(nginx_ingress_controller_requests{service="{service}",pool="{pool}",status=~"5.."}[{range}]))',
    latencyBuckets: 'sum by (le) (rate(nginx_ingress_controller_request_duration_seconds_bucket{service="{service}",pool="{pool}"}[{range}]))',
    lastSample: 'max(timestamp(nginx_ingress_controller_requests{service="{service}"}))',
    cpuCores: 'sum(rate(container_cpu_usage_seconds_total{pod=~"{pods}",container!="",container!="POD"}[{range}]))',
  },
};

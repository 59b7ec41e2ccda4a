/**
 * kube-proxy's metrics (subsystem `kubeproxy_`), the subset this proxy
 * produces, in the Prometheus text format: sync durations (all, full,
 * partial), last sync timestamp, pending and total changes, sync failures,
 * network programming latency.
 */
const syncBuckets = Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i)
const latencyBuckets = [0.25, 0.5, ...Array.from({ length: 59 }, (_, i) => i + 1), ...Array.from({ length: 11 }, (_, i) => 65 + i * 5), ...Array.from({ length: 7 }, (_, i) => 120 + i * 30)]

class Histogram {
  readonly counts: number[]
  sum = 0
  count = 0
  constructor (readonly name: string, readonly help: string, readonly buckets: number[]) { this.counts = buckets.map(() => 0) }
  observe (v: number): void {
    this.sum += v
    this.count++
    this.buckets.forEach((b, i) => { if (v <= b) this.counts[i]! += 1 })
  }

  render (): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`]
    this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket{le="${b}"} ${this.counts[i]!}`))
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`)
    return lines.join('\n')
  }
}

export class ProxyMetrics {
  readonly syncDuration = new Histogram('kubeproxy_sync_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds', syncBuckets)
  readonly fullSyncDuration = new Histogram('kubeproxy_sync_full_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds for full resyncs', syncBuckets)
  readonly partialSyncDuration = new Histogram('kubeproxy_sync_partial_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds for partial resyncs', syncBuckets)
  readonly programmingLatency = new Histogram('kubeproxy_network_programming_duration_seconds', 'In Cluster Network Programming Latency in seconds', latencyBuckets)
  lastSyncTimestamp = 0
  lastQueuedTimestamp = 0
  serviceChangesTotal = 0
  endpointChangesTotal = 0
  serviceChangesPending = 0
  endpointChangesPending = 0
  syncFailuresTotal = 0

  render (mode: string): string {
    const failures = mode === 'iptables' ? 'kubeproxy_sync_proxy_rules_iptables_restore_failures_total' : 'kubeproxy_sync_proxy_rules_nftables_sync_failures_total'
    const gauge = (n: string, h: string, v: number, type = 'gauge'): string => `# HELP ${n} ${h}\n# TYPE ${n} ${type}\n${n} ${v}`
    return [
      this.syncDuration.render(), this.fullSyncDuration.render(), this.partialSyncDuration.render(), this.programmingLatency.render(),
      gauge('kubeproxy_sync_proxy_rules_last_timestamp_seconds', 'The last time proxy rules were successfully synced', this.lastSyncTimestamp),
      gauge('kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds', 'The last time a sync of proxy rules was queued', this.lastQueuedTimestamp),
      gauge('kubeproxy_sync_proxy_rules_service_changes_pending', 'Pending proxy rules Service changes', this.serviceChangesPending),
      gauge('kubeproxy_sync_proxy_rules_endpoint_changes_pending', 'Pending proxy rules Endpoint changes', this.endpointChangesPending),
      gauge('kubeproxy_sync_proxy_rules_service_changes_total', 'Cumulative proxy rules Service changes', this.serviceChangesTotal, 'counter'),
      gauge('kubeproxy_sync_proxy_rules_endpoint_changes_total', 'Cumulative proxy rules Endpoint changes', this.endpointChangesTotal, 'counter'),
      gauge(failures, 'Cumulative proxy sync failures', this.syncFailuresTotal, 'counter')
    ].join('\n') + '\n'
  }
}

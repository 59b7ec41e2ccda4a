/**
 * The API server's Prometheus metrics, named as kube-apiserver's so existing
 * dashboards read them: apiserver_request_total, apiserver_request_duration_seconds,
 * apiserver_storage_objects, apiserver_longrunning_requests, apiserver_registered_watchers.
 */
const buckets = [0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60]

/** kube-apiserver's metric verbs (endpoints/metrics: CleanVerb). */
const kubeVerb: Record<string, string> = { create: 'POST', update: 'PUT', get: 'GET', list: 'LIST', watch: 'WATCH', patch: 'PATCH', delete: 'DELETE', deletecollection: 'DELETE' }

interface Hist { counts: number[], sum: number, count: number }

export class Metrics {
  private readonly requests = new Map<string, number>()
  private readonly durations = new Map<string, Hist>()
  private watches = 0

  observeRequest (verb: string, resource: string, code: number, seconds: number): void {
    verb = kubeVerb[verb] ?? verb.toUpperCase()
    const k = `verb="${verb}",resource="${resource}",code="${code}"`
    this.requests.set(k, (this.requests.get(k) ?? 0) + 1)
    const dk = `verb="${verb}",resource="${resource}"`
    let h = this.durations.get(dk)
    if (h === undefined) { h = { counts: buckets.map(() => 0), sum: 0, count: 0 }; this.durations.set(dk, h) }
    for (let i = 0; i < buckets.length; i++) if (seconds <= (buckets[i] as number)) h.counts[i] = (h.counts[i] as number) + 1
    h.sum += seconds
    h.count++
  }

  watchOpened (): void { this.watches++ }
  watchClosed (): void { this.watches-- }

  render (objects: Map<string, number>, watchers: Map<string, number>): string {
    const out: string[] = []
    out.push('# HELP apiserver_request_total Counter of apiserver requests broken out for each verb, resource and HTTP response code.', '# TYPE apiserver_request_total counter')
    for (const [k, v] of this.requests) out.push(`apiserver_request_total{${k}} ${v}`)
    out.push('# HELP apiserver_request_duration_seconds Response latency distribution in seconds for each verb and resource.', '# TYPE apiserver_request_duration_seconds histogram')
    for (const [k, h] of this.durations) {
      buckets.forEach((b, i) => { out.push(`apiserver_request_duration_seconds_bucket{${k},le="${b}"} ${h.counts[i] as number}`) })
      out.push(`apiserver_request_duration_seconds_bucket{${k},le="+Inf"} ${h.count}`)
      out.push(`apiserver_request_duration_seconds_sum{${k}} ${h.sum}`)
      out.push(`apiserver_request_duration_seconds_count{${k}} ${h.count}`)
    }
    out.push('# HELP apiserver_storage_objects Number of stored objects at the time of last check split by kind.', '# TYPE apiserver_storage_objects gauge')
    for (const [k, v] of objects) out.push(`apiserver_storage_objects{resource="${k}"} ${v}`)
    out.push('# HELP apiserver_longrunning_requests Gauge of all active long-running apiserver requests.', '# TYPE apiserver_longrunning_requests gauge')
    out.push(`apiserver_longrunning_requests{verb="WATCH"} ${this.watches}`)
    out.push('# HELP apiserver_registered_watchers Number of currently registered watchers for a given resource.', '# TYPE apiserver_registered_watchers gauge')
    for (const [k, v] of watchers) out.push(`apiserver_registered_watchers{resource="${k.split('/')[1] ?? k}"} ${v}`)
    return out.join('\n') + '\n'
  }
}

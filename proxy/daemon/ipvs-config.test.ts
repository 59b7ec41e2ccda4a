import test from 'ava'
import { applyConfigFile, proxyDefaults } from './index.js'

test('KubeProxyConfiguration: mode ipvs and its ipvs section (scheduler, strictARP, timeouts, sync periods)', (t) => {
  const cfg = `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: ipvs
clusterCIDR: 10.244.0.0/16
ipvs:
  scheduler: lc
  strictARP: true
  minSyncPeriod: 5s
  syncPeriod: 1m0s
  tcpTimeout: 15m0s
  tcpFinTimeout: 30s
  udpTimeout: 5s
  masqueradeAll: true
`
  const o = applyConfigFile(proxyDefaults, cfg, new Set(['ipvsScheduler']))
  t.like(o, {
    proxyMode: 'ipvs', clusterCidr: '10.244.0.0/16', masqueradeAll: true, minSyncPeriodMs: 5000, syncPeriodMs: 60_000,
    ipvsScheduler: '', ipvsStrictArp: true, ipvsTcpTimeoutMs: 900_000, ipvsTcpFinTimeoutMs: 30_000, ipvsUdpTimeoutMs: 5000
  })
  const err = t.throws(() => applyConfigFile(proxyDefaults, 'kind: KubeProxyConfiguration\nmode: ipvs\nipvs:\n  excludeCIDRs: [10.0.0.0/8]\n', new Set()))
  t.is((err as { code?: string }).code, 'PROXY_ERR_CONFIG')
  t.regex(err?.message ?? '', /ipvs\.excludeCIDRs is not supported/)
})

import test from 'ava'
import { requireRoot, sandbox } from '../harness/index.js'
import { underlayTopology } from '../harness/index.js'

for (const subnets of [1, 2] as const) {
  test(`[kernel] underlay topology with ${subnets} subnet(s): every host reaches every other`, async (t) => {
    requireRoot()
    const sb = sandbox(t, `topo${subnets}`)
    const topo = await underlayTopology(sb, { hosts: 3, subnets })
    t.is(new Set(topo.hosts.map((h) => h.subnetIndex)).size, subnets)
    for (const a of topo.hosts) {
      for (const b of topo.hosts) {
        if (a === b) continue
        const r = await sb.exec(a.ns, 'ping', ['-c', '1', '-W', '2', b.ip], { reject: false })
        t.is(r.exitCode, 0, `${a.name} → ${b.name}`)
      }
    }
  })
}

import test from 'ava'
import { sandbox, requireRoot, requireReference } from '../harness/index.js'

test('[kernel] VERSION lists every spec version; ours echoes the asked version, the reference its own', async (t) => {
  requireRoot(); requireReference()
  const sb = sandbox(t, 'ver')
  const ours = await sb.cni({ impl: 'weft', plugin: 'bridge', command: 'VERSION', conf: { cniVersion: '0.4.0' } })
  t.is(ours.exitCode, 0)
  t.is(ours.json?.cniVersion, '0.4.0')
  t.deepEqual(ours.json?.supportedVersions, ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'])
  const ref = await sb.cni({ impl: 'ref', plugin: 'bridge', command: 'VERSION', conf: { cniVersion: '0.4.0' } })
  t.is(ref.exitCode, 0)
  for (const v of ref.json?.supportedVersions as string[]) t.true((ours.json?.supportedVersions as string[]).includes(v), v)
})

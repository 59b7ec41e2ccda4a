/**
 * `weft demo`: the CNI suite at work in throwaway namespaces. A node namespace
 * plays the host; two pod namespaces are attached with our loopback, bridge,
 * host-local and portmap through the libcni-style runtime; pods ping each other,
 * an HTTP server in one pod is reached through a hostPort; then everything is
 * deleted. Nothing outside the namespaces it makes is touched.
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { execa } from 'execa'
import { LinuxNetNS } from '../../kernel/index.js'
import { CniRuntime, parseConfList } from '../../cni/runtime/index.js'

interface Pod { name: string, path: string, id: string, ip: string | undefined }

export async function demo (opts: { cniBin: string, keep: boolean }): Promise<void> {
  const ns = new LinuxNetNS()
  const tag = `wtdemo${process.pid.toString(36)}`
  const made: string[] = []
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-demo-'))
  const say = (s: string): void => { process.stdout.write(s + '\n') }
  let server: { kill: (signal: NodeJS.Signals) => boolean } | undefined
  const cleanup = (): void => {
    try { server?.kill('SIGKILL') } catch { /* gone */ }
    for (const n of made.reverse()) { try { ns.remove(n) } catch { /* gone */ } }
    fs.rmSync(dir, { recursive: true, force: true })
  }
  process.once('SIGINT', () => { cleanup(); process.exit(130) })
  try {
    const mk = (n: string): string => { const p = ns.create(`${tag}-${n}`); made.push(`${tag}-${n}`); return p }
    const node = mk('node')
    await execa('ip', ['netns', 'exec', path.basename(node), 'ip', 'link', 'set', 'lo', 'up'])
    const runtime = new CniRuntime({ binDirs: [opts.cniBin], cacheDir: path.join(dir, 'cache'), execPrefix: ['ip', 'netns', 'exec', path.basename(node)] })
    const lo = parseConfList(JSON.stringify({ cniVersion: '1.1.0', name: 'cni-loopback', plugins: [{ type: 'loopback' }] }))
    const net = parseConfList(JSON.stringify({
      cniVersion: '1.1.0',
      name: 'weft-demo',
      plugins: [
        { type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: true, hairpinMode: true, ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.0.0/24' }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: path.join(dir, 'ipam') } },
        { type: 'portmap', capabilities: { portMappings: true } }
      ]
    }))
    say(`node namespace ${path.basename(node)}; plugins from ${opts.cniBin}`)
    const pods: Pod[] = [{ name: 'web', id: 'demo-web', path: '', ip: undefined }, { name: 'client', id: 'demo-client', path: '', ip: undefined }]
    for (const p of pods) {
      p.path = mk(p.name)
      const att = { containerId: p.id, netns: p.path, ifName: 'eth0' }
      await runtime.add(lo, { ...att, ifName: 'lo' })
      const r = await runtime.add(net, { ...att, capabilityArgs: p.name === 'web' ? { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] } : {} }) as { ips?: Array<{ address: string }> }
      p.ip = r.ips?.[0]?.address
      say(`pod ${p.name.padEnd(6)} ${path.basename(p.path).padEnd(22)} eth0 ${p.ip ?? '?'}`)
    }
    const [web, client] = pods as [Pod, Pod]
    const webIp = (web.ip ?? '').split('/')[0] ?? ''
    const ping = await execa('ip', ['netns', 'exec', path.basename(client.path), 'ping', '-c', '2', '-W', '2', webIp], { reject: false })
    say(`client → web ${webIp}: ${ping.exitCode === 0 ? 'ping ok' : 'ping FAILED'}`)
    server = execa('ip', ['netns', 'exec', path.basename(web.path), process.execPath, '-e',
      `require('http').createServer((q, s) => s.end('hello from pod web\\n')).listen(80, '0.0.0.0')`], { reject: false })
    await new Promise((resolve) => setTimeout(resolve, 400))
    const fetchJs = "fetch('http://' + process.argv[1] + ':8080/').then(r => r.text()).then(t => process.stdout.write(t)).catch(e => { process.stdout.write('FAILED ' + e.message); process.exit(1) })"
    const gw = '10.244.0.1'
    const hp = await execa('ip', ['netns', 'exec', path.basename(client.path), process.execPath, '-e', fetchJs, gw], { reject: false })
    say(`client → hostPort ${gw}:8080 (portmap DNAT to ${webIp}:80): ${String(hp.stdout).trim()}`)
    if (opts.keep) {
      say('keeping everything; press Ctrl-C to remove it')
      await new Promise(() => {})
    }
    for (const p of pods) {
      await runtime.del(net, { containerId: p.id, netns: p.path, ifName: 'eth0' })
      await runtime.del(lo, { containerId: p.id, netns: p.path, ifName: 'lo' })
    }
    say('deleted both attachments; removing the namespaces')
  } finally {
    cleanup()
  }
}

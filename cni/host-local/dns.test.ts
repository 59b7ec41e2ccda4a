import test from 'ava'
import { parseResolvConf } from './dns.js'
import { decodeOwner, encodeOwner } from './store.js'

test('resolv.conf: nameserver, domain, search and options lines become the result\'s dns', (t) => {
  const text = [
    '# generated',
    '; also a comment',
    'nameserver 10.0.0.10',
    '  nameserver   fd00::10  ',
    'domain example.com',
    'domain cluster.local',
    'search a.svc b.svc',
    'search c.svc',
    'options ndots:5 timeout:2',
    'nameserver',
    'sortlist 10.0.0.0/8',
    ''
  ].join('\n')
  t.deepEqual(parseResolvConf(text), {
    nameservers: ['10.0.0.10', 'fd00::10'],
    domain: 'cluster.local',
    search: ['a.svc', 'b.svc', 'c.svc'],
    options: ['ndots:5', 'timeout:2']
  })
})

test('an empty resolv.conf gives an empty dns object (the reference prints "dns": {})', (t) => {
  t.deepEqual(parseResolvConf(''), {})
  t.deepEqual(parseResolvConf('# nothing\n\n'), {})
})

test('reservation bodies: "<id>\\r\\n<ifname>" written, legacy ID-only read back', (t) => {
  t.is(encodeOwner({ id: ' c1 ', ifname: 'eth0' }), 'c1\r\neth0')
  t.deepEqual(decodeOwner('c1\r\neth0'), { id: 'c1', ifname: 'eth0' })
  t.deepEqual(decodeOwner('c1\r\neth0\n'), { id: 'c1', ifname: 'eth0' })
  t.deepEqual(decodeOwner('c1\n'), { id: 'c1', ifname: undefined })
  t.deepEqual(decodeOwner(''), { id: '', ifname: undefined })
})

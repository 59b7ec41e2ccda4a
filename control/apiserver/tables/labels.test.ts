import test from 'ava'
import { formatLabels, formatLabelSelector, selectorString } from './labels.js'

test('formatLabels sorts by key and prints <none> when empty', (t) => {
  t.is(formatLabels({ b: '2', a: '1' }), 'a=1,b=2')
  t.is(formatLabels({}), '<none>')
  t.is(formatLabels(undefined), '<none>')
})

test('label selectors print as apimachinery does', (t) => {
  const sel = {
    matchLabels: { tier: 'web', app: 'nginx' },
    matchExpressions: [
      { key: 'env', operator: 'In', values: ['prod', 'dev'] },
      { key: 'zone', operator: 'NotIn', values: ['b', 'a'] },
      { key: 'canary', operator: 'DoesNotExist' },
      { key: 'owner', operator: 'Exists' }
    ]
  }
  t.is(selectorString(sel), 'app=nginx,!canary,env in (dev,prod),owner,tier=web,zone notin (a,b)')
  t.is(formatLabelSelector(sel), 'app=nginx,!canary,env in (dev,prod),owner,tier=web,zone notin (a,b)')
  t.is(formatLabelSelector({}), '<none>')
  t.is(formatLabelSelector(undefined), '<none>')
  t.is(selectorString(undefined), '')
  t.is(formatLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] }), '<error>')
  t.is(selectorString({ matchExpressions: [{ key: 'a', operator: 'Gt' }] }), undefined)
})

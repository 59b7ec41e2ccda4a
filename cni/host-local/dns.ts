/**
 * resolv.conf → the result's `dns`, line by line as the reference reads it:
 * `nameserver` adds one server, `domain` sets the domain (last one wins),
 * `search` and `options` add every word after the keyword. Comments (`#`,
 * `;`), blank lines, unknown keywords and keywords without a value are skipped.
 */
import * as fs from 'node:fs'
import { invalidConfig } from '../skel/index.js'
import type { Dns } from '../skel/index.js'

export function parseResolvConf (text: string): Dns {
  const dns: Dns = {}
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    const [key, ...values] = line.split(/\s+/)
    if (values.length === 0) continue
    switch (key) {
      case 'nameserver': (dns.nameservers ??= []).push(values[0] as string); break
      case 'domain': dns.domain = values[0] as string; break
      case 'search': (dns.search ??= []).push(...values); break
      case 'options': (dns.options ??= []).push(...values); break
    }
  }
  return dns
}

/** Reads the configured resolv.conf; an unreadable file is a configuration error. */
export function readResolvConf (file: string): Dns {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (e) {
    throw invalidConfig(`cannot read ipam.resolvConf ${file}`, (e as Error).message)
  }
  return parseResolvConf(text)
}

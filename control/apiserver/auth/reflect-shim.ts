/**
 * The part of the Reflect metadata API (the reflect-metadata proposal) that
 * @peculiar/x509's dependency tsyringe checks for at load time: without it the
 * import throws "tsyringe requires a reflect polyfill". The repository has no
 * reflect-metadata package, so pki.ts imports this module before @peculiar/x509
 * (ESM evaluates imports in order). It installs nothing if a polyfill is
 * already there. Metadata lives in a WeakMap keyed by target, with the property
 * key (or undefined) inside, and getMetadata walks the prototype chain as the
 * proposal specifies.
 */
type Key = string | symbol | undefined
const store = new WeakMap<object, Map<Key, Map<unknown, unknown>>>()

function own (target: object, key: Key, create: boolean): Map<unknown, unknown> | undefined {
  let byKey = store.get(target)
  if (byKey === undefined) {
    if (!create) return undefined
    byKey = new Map()
    store.set(target, byKey)
  }
  let m = byKey.get(key)
  if (m === undefined && create) { m = new Map(); byKey.set(key, m) }
  return m
}

const api = {
  defineMetadata (metadataKey: unknown, value: unknown, target: object, propertyKey?: string | symbol): void {
    own(target, propertyKey, true)?.set(metadataKey, value)
  },
  getOwnMetadata (metadataKey: unknown, target: object, propertyKey?: string | symbol): unknown {
    return own(target, propertyKey, false)?.get(metadataKey)
  },
  hasOwnMetadata (metadataKey: unknown, target: object, propertyKey?: string | symbol): boolean {
    return own(target, propertyKey, false)?.has(metadataKey) ?? false
  },
  getMetadata (metadataKey: unknown, target: object, propertyKey?: string | symbol): unknown {
    for (let o: object | null = target; o !== null; o = Object.getPrototypeOf(o) as object | null) {
      const m = own(o, propertyKey, false)
      if (m?.has(metadataKey) === true) return m.get(metadataKey)
    }
    return undefined
  },
  hasMetadata (metadataKey: unknown, target: object, propertyKey?: string | symbol): boolean {
    for (let o: object | null = target; o !== null; o = Object.getPrototypeOf(o) as object | null) {
      if (own(o, propertyKey, false)?.has(metadataKey) === true) return true
    }
    return false
  },
  metadata (metadataKey: unknown, value: unknown) {
    return (target: object, propertyKey?: string | symbol): void => { api.defineMetadata(metadataKey, value, target, propertyKey) }
  }
}

const R = Reflect as unknown as Record<string, unknown>
if (typeof R.getMetadata !== 'function') {
  for (const [name, fn] of Object.entries(api)) {
    Object.defineProperty(Reflect, name, { value: fn, writable: true, configurable: true, enumerable: false })
  }
}

export {}

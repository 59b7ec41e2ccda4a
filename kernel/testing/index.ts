export * from './netlink.js'
export * from './iptables.js'

export * from './netlink.js'
export * from './iptables.js'
export * from './nftables.js'

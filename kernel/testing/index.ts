export * from './netlink.js'

/** Server-side Tables for `kubectl get` (see docs/apiserver-output.md). */
export { toTable, parseTableAccept, parseAccept, parseIncludeObject } from './table.js'
export type { IncludeObject, ToTableOptions, TableNegotiation } from './table.js'
export { printerFor, PRINTERS, DEFAULT_PRINTER } from './printers.js'
export { humanDuration, shortHumanDuration, translateTimestampSince } from './duration.js'
export { formatLabels, formatLabelSelector } from './labels.js'
export type { Table, TableRow, TableColumnDefinition, TableCell, TableRowCondition, ListMeta, Printer } from './types.js'

/** The `meta.k8s.io/v1` Table wire types (apimachinery `pkg/apis/meta/v1/types.go`). */

export interface TableColumnDefinition {
  /** Human-readable name; kubectl upper-cases it for the header. */
  name: string
  /** OpenAPI type: string, integer, number, boolean, date. */
  type: string
  /** OpenAPI format; 'name' marks the column holding the object's name. */
  format: string
  description: string
  /** 0 is always shown; 1 only with `-o wide`. */
  priority: number
}

export type TableCell = string | number | boolean | null

export interface TableRowCondition {
  type: 'Completed'
  status: 'True' | 'False' | 'Unknown'
  reason?: string
  message?: string
}

export interface TableRow {
  cells: TableCell[]
  conditions?: TableRowCondition[]
  object?: Record<string, unknown>
}

export interface ListMeta {
  resourceVersion?: string
  continue?: string
  remainingItemCount?: number
}

export interface Table {
  kind: 'Table'
  apiVersion: 'meta.k8s.io/v1' | 'meta.k8s.io/v1beta1'
  metadata: ListMeta
  columnDefinitions: TableColumnDefinition[]
  rows: TableRow[]
}

/** What a printer produces for one object: the cells of every column (wide ones included) and row conditions. */
export interface PrintedRow {
  cells: TableCell[]
  conditions?: TableRowCondition[]
}

export interface Printer {
  columns: TableColumnDefinition[]
  print: (obj: Record<string, unknown>, now: Date) => PrintedRow
}

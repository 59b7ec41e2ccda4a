/**
 * The CSV dialect kube-apiserver reads its --token-auth-file with: Go's
 * encoding/csv Reader with FieldsPerRecord = -1 and every other option at its
 * default, so that a file accepted (or refused) here is accepted (or refused)
 * by kube-apiserver too:
 *
 * - records end at "\n"; "\r\n" counts as "\n"; a lone "\r" before end of file is dropped;
 * - an empty line is skipped; a line of spaces is a record of one field; there is NO comment syntax
 *   (a "#..." line is a record like any other);
 * - a field starting with `"` is quoted: `""` is a quote, and it may span lines; the closing quote
 *   must be followed by ",", the end of the line or the end of the file;
 * - a `"` inside an unquoted field is an error (Go's ErrBareQuote); a stray or missing closing quote
 *   too (ErrQuote). No trimming of spaces.
 *
 * Errors read as Go's ParseError does: "parse error on line L, column C: ..." (column = 1-based byte
 * offset), "record on line S; parse error on line L, column C: ..." when the record started earlier.
 */

export const ErrBareQuote = 'bare " in non-quoted-field'
export const ErrQuote = 'extraneous or missing " in quoted-field'

export class CsvParseError extends Error {
  constructor (readonly startLine: number, readonly line: number, readonly column: number, readonly reason: string) {
    super(startLine !== line
      ? `record on line ${startLine}; parse error on line ${line}, column ${column}: ${reason}`
      : `parse error on line ${line}, column ${column}: ${reason}`)
    this.name = 'CsvParseError'
  }
}

export interface CsvRecord {
  fields: string[]
  /** 1-based line the record starts on. */
  line: number
}

const byteLen = (s: string): number => Buffer.byteLength(s, 'utf8')

/** Parses the whole text; throws CsvParseError at the first malformed record. */
export function parseCsv (text: string): CsvRecord[] {
  // Physical lines, each keeping its "\n" (normalised from "\r\n"), as Go's readLine returns them.
  const lines: string[] = []
  for (let i = 0; i < text.length;) {
    const nl = text.indexOf('\n', i)
    let line = nl < 0 ? text.slice(i) : text.slice(i, nl + 1)
    i = nl < 0 ? text.length : nl + 1
    if (line.endsWith('\r\n')) line = line.slice(0, -2) + '\n'
    else if (nl < 0 && line.endsWith('\r')) line = line.slice(0, -1)
    lines.push(line)
  }
  const lengthNL = (s: string): number => s.endsWith('\n') ? 1 : 0

  const records: CsvRecord[] = []
  let li = 0
  while (li < lines.length) {
    let line = lines[li] as string
    li++
    const startLine = li
    if (line === '\n') continue // empty line
    let lineNo = startLine
    let col = 1
    const fields: string[] = []
    field: for (;;) {
      if (!line.startsWith('"')) {
        // Unquoted field: up to the next comma or the end of the line.
        const i = line.indexOf(',')
        const value = i >= 0 ? line.slice(0, i) : line.slice(0, line.length - lengthNL(line))
        const q = value.indexOf('"')
        if (q >= 0) throw new CsvParseError(startLine, lineNo, col + byteLen(value.slice(0, q)), ErrBareQuote)
        fields.push(value)
        if (i < 0) break
        col += byteLen(line.slice(0, i)) + 1
        line = line.slice(i + 1)
        continue
      }
      // Quoted field.
      line = line.slice(1)
      col += 1
      let value = ''
      for (;;) {
        const i = line.indexOf('"')
        if (i >= 0) {
          value += line.slice(0, i)
          col += byteLen(line.slice(0, i)) + 1
          line = line.slice(i + 1)
          if (line.startsWith('"')) { // "" is a quote
            value += '"'
            line = line.slice(1)
            col += 1
          } else if (line.startsWith(',')) { // end of the field, another follows
            line = line.slice(1)
            col += 1
            fields.push(value)
            continue field
          } else if (lengthNL(line) === line.length) { // end of the record
            fields.push(value)
            break field
          } else {
            throw new CsvParseError(startLine, lineNo, col - 1, ErrQuote)
          }
        } else if (line.length > 0) {
          // The field goes on on the next line.
          value += line
          col += byteLen(line)
          line = li < lines.length ? lines[li++] as string : ''
          if (line.length > 0) { lineNo++; col = 1 }
        } else {
          throw new CsvParseError(startLine, lineNo, col, ErrQuote) // end of file inside quotes
        }
      }
    }
    records.push({ fields, line: startLine })
  }
  return records
}

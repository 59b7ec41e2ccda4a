/** The Go encoding/csv dialect (FieldsPerRecord = -1, defaults otherwise), rows after Go's own reader tests. */
import test from 'ava'
import fc from 'fast-check'
import { CsvParseError, ErrBareQuote, ErrQuote, parseCsv } from './csv.js'

const ok: Array<{ name: string, input: string, output: string[][] }> = [
  { name: 'simple', input: 'a,b,c\n', output: [['a', 'b', 'c']] },
  { name: 'CRLF', input: 'a,b\r\nc,d\r\n', output: [['a', 'b'], ['c', 'd']] },
  { name: 'bare CR stays inside a field', input: 'a,b\rc,d\r\n', output: [['a', 'b\rc', 'd']] },
  { name: 'no final newline', input: 'a,b,c', output: [['a', 'b', 'c']] },
  { name: 'trailing CR before EOF is dropped', input: 'field1,field2\r', output: [['field1', 'field2']] },
  { name: 'quoted then trailing CR', input: '"field"\r', output: [['field']] },
  { name: 'blank lines are skipped', input: 'a,b,c\n\nd,e,f\n\n', output: [['a', 'b', 'c'], ['d', 'e', 'f']] },
  { name: 'spaces are kept', input: ' a,  b,   c\n', output: [[' a', '  b', '   c']] },
  { name: 'a line of spaces is a record', input: '  \n', output: [['  ']] },
  { name: 'no comment syntax', input: '#1,2,3\na,b,c', output: [['#1', '2', '3'], ['a', 'b', 'c']] },
  {
    name: 'RFC 4180 quoting',
    input: '#field1,field2,field3\n"aaa","bb\nb","ccc"\n"a,a","b""bb","ccc"\nzzz,yyy,xxx\n',
    output: [['#field1', 'field2', 'field3'], ['aaa', 'bb\nb', 'ccc'], ['a,a', 'b"bb', 'ccc'], ['zzz', 'yyy', 'xxx']]
  },
  { name: 'multi-line fields', input: '"two\nline","one line","three\nline\nfield"', output: [['two\nline', 'one line', 'three\nline\nfield']] },
  { name: 'CRLF inside quotes becomes LF', input: 'A,"Hello\r\nHi",B\r\n', output: [['A', 'Hello\nHi', 'B']] },
  { name: 'empty fields', input: ',,\n"",a,\n', output: [['', '', ''], ['', 'a', '']] },
  { name: 'trailing comma at EOF after a quoted field', input: '"a",', output: [['a', '']] },
  { name: 'ragged records', input: 'a\nb,c,d,e\n', output: [['a'], ['b', 'c', 'd', 'e']] },
  { name: 'only a newline', input: '\n', output: [] },
  { name: 'empty input', input: '', output: [] }
]

for (const row of ok) {
  test(`csv: ${row.name}`, (t) => {
    t.deepEqual(parseCsv(row.input).map((r) => r.fields), row.output)
  })
}

const bad: Array<{ name: string, input: string, message: string }> = [
  { name: 'quote inside an unquoted field', input: 'a""b,c\n', message: `parse error on line 1, column 2: ${ErrBareQuote}` },
  { name: 'bare quote after a word', input: 'a "word","b"', message: `parse error on line 1, column 3: ${ErrBareQuote}` },
  { name: 'trailing quote', input: '"a word",b"', message: `parse error on line 1, column 11: ${ErrBareQuote}` },
  { name: 'extraneous quote', input: '"a "word","b"', message: `parse error on line 1, column 4: ${ErrQuote}` },
  { name: 'stray text after a closing quote', input: '"field"\r\r', message: `parse error on line 1, column 7: ${ErrQuote}` },
  { name: 'error on a later line of a record', input: 'a,"b\nc"d,e', message: `record on line 1; parse error on line 2, column 2: ${ErrQuote}` },
  { name: 'unterminated quote at EOF', input: 'a,b\n"d\n\n,e', message: `record on line 2; parse error on line 4, column 3: ${ErrQuote}` },
  { name: 'multibyte columns count bytes', input: 'é"', message: `parse error on line 1, column 3: ${ErrBareQuote}` }
]

for (const row of bad) {
  test(`csv error: ${row.name}`, (t) => {
    const err = t.throws(() => parseCsv(row.input))
    t.true(err instanceof CsvParseError)
    t.is(err?.message, row.message)
  })
}

test('csv: records remember the line they start on', (t) => {
  t.deepEqual(parseCsv('a\n\n"b\nc",d\ne\n').map((r) => r.line), [1, 3, 5])
})

test('csv property: quoting any fields and parsing them back is the identity', (t) => {
  const field = fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', '\n', ' ', 'é', '\r') })
    .filter((s) => !s.includes('\r')) // "\r\n" inside quotes is read as "\n", by design
  fc.assert(fc.property(fc.array(fc.array(field, { minLength: 1, maxLength: 5 }), { maxLength: 5 }), (rows) => {
    const text = rows.map((r) => r.map((f) => `"${f.replaceAll('"', '""')}"`).join(',') + '\n').join('')
    t.deepEqual(parseCsv(text).map((r) => r.fields), rows)
  }))
})

test('csv property: arbitrary text either parses or throws CsvParseError', (t) => {
  fc.assert(fc.property(fc.string({ unit: fc.constantFrom('a', ',', '"', '\n', '\r', ' ') }), (s) => {
    try {
      parseCsv(s)
    } catch (err) {
      if (!(err instanceof CsvParseError)) throw err
    }
  }))
  t.pass()
})

/**
 * JSON tables (spec §1.11.4): `{"header":[…],"rows":[[…],…]}`, sometimes with members before the
 * header (MeshMS read offsets, a MeshMB feed's name). Lists are read whole; long-polls (newsince)
 * are read row by row as the node streams them, with a small scanner that finds each complete row
 * of the `rows` array (strings and nesting accounted for) and hands it to JSON.parse.
 */

export interface JsonTable {
  readonly header: readonly string[];
  readonly rows: readonly (readonly unknown[])[];
  readonly [member: string]: unknown;
}

/** The rows of a table as objects keyed by the header's column names. */
export function tableObjects<T>(table: JsonTable): T[] {
  return table.rows.map((row) => rowObject<T>(table.header, row));
}

export function rowObject<T>(header: readonly string[], row: readonly unknown[]): T {
  const out: Record<string, unknown> = {};
  header.forEach((name, i) => (out[name] = row[i]));
  return out as T;
}

/** What a streamed table gives: its head (members and header), then its rows. */
export interface TableHead {
  readonly header: readonly string[];
  readonly [member: string]: unknown;
}

export type TableEvent = { readonly kind: 'head'; readonly head: TableHead } | { readonly kind: 'row'; readonly row: unknown[] };

const ROWS = '"rows":[';

/**
 * Reads a streamed JSON table. Rows are yielded as soon as each one is complete; a body that ends
 * before the table does (the node stopped, the connection broke) throws.
 */
export async function* readTableStream(body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): AsyncGenerator<TableEvent> {
  const decoder = new TextDecoder();
  let text = '';
  let inRows = false;
  let closed = false;
  // Scanner state inside the rows array.
  let depth = 0;
  let inString = false;
  let escaped = false;
  let start = -1;
  let pos = 0;
  for await (const chunk of iterate(body)) {
    text += decoder.decode(chunk, { stream: true });
    if (!inRows) {
      const at = text.indexOf(ROWS);
      if (at === -1) continue;
      const head = JSON.parse(`${text.slice(0, at)}"rows":[]}`) as JsonTable;
      const { rows: _rows, ...rest } = head;
      yield { kind: 'head', head: rest };
      inRows = true;
      text = text.slice(at + ROWS.length);
      pos = 0;
    }
    for (; pos < text.length && !closed; pos++) {
      const c = text[pos];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === '\\') escaped = true;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === '[' || c === '{') {
        if (depth === 0) start = pos;
        depth++;
      } else if (c === ']' || c === '}') {
        if (depth === 0) closed = true; // the end of "rows"
        else if (--depth === 0) yield { kind: 'row', row: JSON.parse(text.slice(start, pos + 1)) as unknown[] };
      }
    }
    if (closed) return;
    // Keep only the row being read.
    if (depth === 0) {
      text = '';
      pos = 0;
    } else if (start > 0) {
      text = text.slice(start);
      pos -= start;
      start = 0;
    }
  }
  throw new Error(inRows ? 'the table ended early' : 'not a JSON table');
}

function iterate(body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  if (Symbol.asyncIterator in body) return body as AsyncIterable<Uint8Array>;
  const reader = (body as ReadableStream<Uint8Array>).getReader();
  return {
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        const { done, value } = await reader.read();
        return done ? { done: true, value: undefined } : { done: false, value };
      },
      return: async () => {
        await reader.cancel();
        return { done: true, value: undefined };
      },
    }),
  };
}

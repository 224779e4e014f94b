/**
 * multipart/form-data bodies for uploads (Rhizome insert, append, import; MeshMS and MeshMB
 * messages), built to be streamed: a body knows its length before its first byte (the node wants a
 * Content-Length for an upload) and yields its parts' bytes as they are sent. A part is text, bytes,
 * a Blob (a browser File), or a ByteSource (a file in Node, see src/client/node.ts).
 */

/** Bytes that can be read as a stream, of a size known in advance. */
export interface ByteSource {
  readonly size: number;
  stream(): AsyncIterable<Uint8Array>;
}

export type PartBody = string | Uint8Array | Blob | ByteSource;

export interface Part {
  readonly name: string;
  readonly contentType?: string;
  readonly filename?: string;
  readonly body: PartBody;
}

export interface UploadBody {
  readonly length: number;
  readonly contentType: string;
  /** The body's bytes, in order (a ByteSource part is read as they are asked for). */
  chunks(): AsyncIterable<Uint8Array>;
  /** The body as one Blob, when every part can be one (not a ByteSource). */
  blob?(): Blob;
}

const encoder = new TextEncoder();
const CRLF = encoder.encode('\r\n');

/** A quoted-string for a header parameter. */
const quote = (value: string): string => `"${value.replace(/["\\]/g, '\\$&')}"`;

/**
 * Parts for `new Blob`: Node's and the DOM's typings disagree on which byte arrays a Blob takes
 * (the DOM's refuses a Uint8Array that might view a SharedArrayBuffer); ours never do.
 */
export function blobParts(parts: ReadonlyArray<string | Uint8Array | Blob>): ConstructorParameters<typeof Blob>[0] {
  return parts as unknown as ConstructorParameters<typeof Blob>[0];
}

function isBlob(body: PartBody): body is Blob {
  return typeof Blob !== 'undefined' && body instanceof Blob;
}

function sizeOf(body: PartBody): number {
  if (typeof body === 'string') return encoder.encode(body).length;
  if (body instanceof Uint8Array) return body.length;
  return body.size;
}

/** 128 random bits: a payload cannot contain the delimiter except by a chance not worth scanning for. */
function randomBoundary(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return `tendril-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * A filename the node accepts in a Content-Disposition (spec §1.7: at most 127 bytes, no control
 * characters), or undefined to send none.
 */
export function framableFilename(name: string): string | undefined {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  return name !== '' && encoder.encode(name).length <= 127 && !/[\x00-\x1f\x7f]/.test(name) ? name : undefined;
}

export function multipartBody(parts: readonly Part[], boundary = randomBoundary()): UploadBody {
  const heads = parts.map((part) => {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name=${quote(part.name)}`;
    if (part.filename !== undefined) head += `; filename=${quote(part.filename)}`;
    if (part.contentType !== undefined) head += `\r\nContent-Type: ${part.contentType}`;
    return encoder.encode(`${head}\r\n\r\n`);
  });
  const tail = encoder.encode(`--${boundary}--\r\n`);
  const length = parts.reduce((n, part, i) => n + heads[i]!.length + sizeOf(part.body) + CRLF.length, tail.length);
  const streamed = parts.some((p) => typeof p.body !== 'string' && !(p.body instanceof Uint8Array) && !isBlob(p.body));
  return {
    length,
    contentType: `multipart/form-data; boundary=${boundary}`,
    async *chunks() {
      for (const [i, part] of parts.entries()) {
        yield heads[i]!;
        const body = part.body;
        if (typeof body === 'string') yield encoder.encode(body);
        else if (body instanceof Uint8Array) yield body;
        else if (isBlob(body)) yield new Uint8Array(await body.arrayBuffer());
        else {
          let sent = 0;
          for await (const chunk of body.stream()) {
            sent += chunk.length;
            yield chunk;
          }
          if (sent !== body.size) throw new Error(`the "${part.name}" part changed size while being sent`);
        }
        yield CRLF;
      }
      yield tail;
    },
    blob: streamed
      ? undefined
      : () => new Blob(blobParts(parts.flatMap((part, i) => [heads[i]!, part.body as string | Uint8Array | Blob, CRLF]).concat([tail]))),
  };
}

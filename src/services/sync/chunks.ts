/**
 * The chunks of a readable stream as an async iterable, each as it came off the socket. A
 * Readable's own async iterator reads whatever is buffered as one buffer, copying chunks together;
 * a link carries hundreds of megabytes, and the frame reader takes pieces as they are. The stream
 * is paused while more than a few chunks wait, so backpressure still reaches the sender.
 */
import type { Readable } from 'node:stream';

const QUEUE = 8;

export async function* chunksOf(stream: Readable): AsyncIterable<Buffer> {
  const queue: Buffer[] = [];
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  const onData = (chunk: Buffer): void => {
    queue.push(chunk);
    if (queue.length >= QUEUE) stream.pause();
    notify();
  };
  const onEnd = (): void => {
    ended = true;
    notify();
  };
  const onError = (err: Error): void => {
    failure = err;
    notify();
  };
  stream.on('data', onData);
  stream.once('end', onEnd);
  stream.once('close', onEnd);
  stream.once('error', onError);
  try {
    for (;;) {
      const chunk = queue.shift();
      if (chunk !== undefined) {
        if (queue.length < QUEUE / 2 && stream.isPaused()) stream.resume();
        yield chunk;
        continue;
      }
      if (failure !== undefined) throw failure;
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('close', onEnd);
    stream.off('error', onError);
  }
}

/**
 * Who is listening on a control socket, checked before anything is sent to it (Node only).
 *
 * Node cannot ask the kernel for a Unix socket peer's credentials (SO_PEERCRED is not exposed
 * without a native addon), so the check is on the filesystem instead, which is what decides who
 * could have bound that name: only a user who can write the directory holding the socket can put a
 * socket (or anything else) there, and only a user who can write a directory above it can move
 * the instance directory away and put another in its place. So, as OpenSSH's StrictModes checks
 * ~/.ssh, the socket must be a socket owned by the instance directory's owner; the instance
 * directory must be owned by the user running the client (any owner when that user is root, who
 * may talk to the node of a service user) and writable by no one else; and every directory above
 * it must be owned by that owner or root and writable by no one else, unless it is sticky (as
 * /tmp is, where others cannot rename what they do not own). Symbolic links are resolved first,
 * and the real path is what is checked. What passes can only have been bound by the instance's
 * owner, or by root; a PIN sent to it reaches no one else.
 */
import { lstatSync, realpathSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';

export class UntrustedSocketError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UntrustedSocketError';
  }
}

const S_ISVTX = 0o1000;

function stat(path: string): Stats {
  try {
    return lstatSync(path);
  } catch (err) {
    throw new UntrustedSocketError(`cannot check ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** Throws UntrustedSocketError unless `socketPath` can only have been bound by its instance's owner (or root). */
export function checkControlSocket(socketPath: string, uid: number = process.getuid?.() ?? 0): void {
  let dir: string;
  try {
    dir = realpathSync(dirname(socketPath));
  } catch (err) {
    throw new UntrustedSocketError(`cannot check ${dirname(socketPath)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const instance = stat(dir);
  if (!instance.isDirectory()) throw new UntrustedSocketError(`${dir} is not a directory`);
  if (uid !== 0 && instance.uid !== uid) {
    throw new UntrustedSocketError(`the instance directory ${dir} belongs to uid ${instance.uid}, not to you (uid ${uid}): its socket is not trusted`);
  }
  if ((instance.mode & 0o022) !== 0) {
    throw new UntrustedSocketError(`the instance directory ${dir} is writable by other users (mode ${(instance.mode & 0o7777).toString(8)}): its socket is not trusted; chmod 700 it`);
  }
  const owner = instance.uid;
  const socket = stat(join(dir, socketPath.slice(socketPath.lastIndexOf('/') + 1)));
  if (!socket.isSocket()) throw new UntrustedSocketError(`${socketPath} is not a socket`);
  if (socket.uid !== owner) {
    throw new UntrustedSocketError(`${socketPath} belongs to uid ${socket.uid}, not to the instance's owner (uid ${owner}): refusing to talk to it`);
  }
  for (let above = dirname(dir); ; above = dirname(above)) {
    const s = stat(above);
    if (s.uid !== 0 && s.uid !== owner) {
      throw new UntrustedSocketError(`${above}, above the instance directory, belongs to uid ${s.uid}: the instance's socket is not trusted`);
    }
    if ((s.mode & 0o022) !== 0 && (s.mode & S_ISVTX) === 0) {
      throw new UntrustedSocketError(`${above}, above the instance directory, is writable by other users: the instance's socket is not trusted`);
    }
    if (above === dirname(above)) break;
  }
}

/**
 * `tendril meshms send | list | conversations | read`: MeshMS from the command line, through the
 * node's REST API on the control socket (spec §4). Output follows the reference's `meshms list`
 * commands: a header line, then one colon-separated line per row; `--json` prints the rows as the
 * API gives them.
 */
import type { Command } from 'commander';
import { parseSid } from '../crypto/identity.js';
import { fail } from '../errors.js';
import type { InstancePaths } from '../node/instance.js';
import type { Io } from './io.js';
import { withNode } from './node-client.js';

/** A SID argument (64 hex digits or `broadcast`), as the path segment the API takes. */
function sidArg(text: string, what: string): string {
  const sid = parseSid(text);
  if (!sid) fail('USAGE', { arg: `invalid ${what} SID: ${text}` });
  return sid.toString('hex').toUpperCase();
}

export function registerMeshmsCommands(program: Command, paths: () => InstancePaths, io: Io): void {
  const meshms = program.command('meshms').description('send and read MeshMS messages');

  meshms
    .command('send <mysid> <theirsid> <text>')
    .description('send a message (at most 4094 bytes of UTF-8)')
    .action(async (mySid: string, theirSid: string, text: string) => {
      const my = sidArg(mySid, 'sender');
      const their = sidArg(theirSid, 'recipient');
      await withNode(paths(), io, (node) => node.meshms.send(my, their, text));
    });

  meshms
    .command('list <mysid> <theirsid>')
    .description('list the messages of a conversation, newest first (_id:my_offset:their_offset:age:type:message)')
    .option('--json', 'print the messages as JSON')
    .action(async (mySid: string, theirSid: string, opts: { json?: boolean }) => {
      const my = sidArg(mySid, 'sender');
      const their = sidArg(theirSid, 'recipient');
      await withNode(paths(), io, async (node) => {
        const list = await node.meshms.messages(my, their);
        if (opts.json) return io.json(list.messages);
        const now = Math.floor(Date.now() / 1000);
        const age = (t: number | null): number => (t ? now - t : -1);
        io.out('_id:my_offset:their_offset:age:type:message');
        let id = 0;
        let markedRead = false;
        for (const m of list.messages) {
          if (m.type === 'ACK') {
            io.out([id++, m.my_offset, m.their_offset, -1, 'ACK', 'delivered'].join(':'));
            continue;
          }
          // As the reference: a MARK line above the newest message already read.
          if (m.type === '<' && m.read && !markedRead) {
            io.out([id++, list.readOffset, 0, age(m.timestamp), 'MARK', 'read'].join(':'));
            markedRead = true;
          }
          io.out([id++, m.my_offset, m.their_offset, age(m.timestamp), m.type, m.text ?? ''].join(':'));
        }
      });
    });

  meshms
    .command('conversations <mysid>')
    .description('list the conversations of an identity (_id:recipient:read:last_message:read_offset)')
    .option('--json', 'print the conversations as JSON')
    .action(async (mySid: string, opts: { json?: boolean }) => {
      const my = sidArg(mySid, 'identity');
      await withNode(paths(), io, async (node) => {
        const rows = await node.meshms.conversations(my);
        if (opts.json) return io.json(rows);
        io.out('_id:recipient:read:last_message:read_offset');
        for (const c of rows) io.out([c._id, c.their_sid, c.read ? '' : 'unread', c.last_message, c.read_offset].map(String).join(':'));
      });
    });

  meshms
    .command('read <mysid> [theirsid] [offset]')
    .description('mark messages read: all conversations, one conversation, or one up to an offset')
    .action(async (mySid: string, theirSid: string | undefined, offset: string | undefined) => {
      const my = sidArg(mySid, 'identity');
      if (offset !== undefined && !/^\d{1,20}$/.test(offset)) fail('USAGE', { arg: `invalid offset: ${offset}` });
      const their = theirSid === undefined ? undefined : sidArg(theirSid, 'recipient');
      await withNode(paths(), io, (node) => node.meshms.markRead(my, their, offset === undefined ? undefined : Number(offset)));
    });
}

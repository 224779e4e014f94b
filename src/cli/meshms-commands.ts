/**
 * `tendril meshms send | list | conversations | read`: MeshMS from the command line, through the
 * node's REST API on the control socket (spec §4). Output follows the reference's `meshms list`
 * commands: a header line, then one colon-separated line per row.
 */
import type { Command } from 'commander';
import { parseSid } from '../crypto/identity.js';
import { fail } from '../errors.js';
import type { InstancePaths } from '../node/instance.js';
import { expectJson, messageForm, tableRows, withNode, type NodeClient } from './client.js';
import type { Io } from './io.js';

/** A SID argument (64 hex digits or `broadcast`), as the path segment the API takes. */
function sidArg(text: string, what: string): string {
  const sid = parseSid(text);
  if (!sid) fail('USAGE', { arg: `invalid ${what} SID: ${text}` });
  return sid.toString('hex').toUpperCase();
}

async function post(node: NodeClient, path: string, ok: readonly number[]): Promise<void> {
  expectJson(await node.request('POST', path, { headers: { 'Content-Length': 0 } }), ok);
}

type MessageRow = [string, string, string, number, number, string, string | null, boolean, boolean, number | null, number | null];

export function registerMeshmsCommands(program: Command, paths: () => InstancePaths, io: Io): void {
  const meshms = program.command('meshms').description('send and read MeshMS messages');

  meshms
    .command('send <mysid> <theirsid> <text>')
    .description('send a message (at most 4094 bytes of UTF-8)')
    .action(async (mySid: string, theirSid: string, text: string) => {
      const my = sidArg(mySid, 'sender');
      const their = sidArg(theirSid, 'recipient');
      await withNode(paths(), async (node) => {
        const reply = await node.request('POST', `/restful/meshms/${my}/${their}/sendmessage`, messageForm(text));
        expectJson(reply, [201]);
      });
    });

  meshms
    .command('list <mysid> <theirsid>')
    .description('list the messages of a conversation, newest first (_id:my_offset:their_offset:age:type:message)')
    .action(async (mySid: string, theirSid: string) => {
      const my = sidArg(mySid, 'sender');
      const their = sidArg(theirSid, 'recipient');
      await withNode(paths(), async (node) => {
        const reply = await node.request('GET', `/restful/meshms/${my}/${their}/messagelist.json`);
        const table = expectJson(reply, [200]) as { read_offset: number; rows: MessageRow[] };
        const now = Math.floor(Date.now() / 1000);
        const age = (t: number | null): number => (t ? now - t : -1);
        io.out('_id:my_offset:their_offset:age:type:message');
        let id = 0;
        let markedRead = false;
        for (const [type, , , myOffset, theirOffset, , text, , read, timestamp] of table.rows) {
          if (type === 'ACK') {
            io.out([id++, myOffset, theirOffset, -1, 'ACK', 'delivered'].join(':'));
            continue;
          }
          // As the reference: a MARK line above the newest message already read.
          if (type === '<' && read && !markedRead) {
            io.out([id++, table.read_offset, 0, age(timestamp), 'MARK', 'read'].join(':'));
            markedRead = true;
          }
          io.out([id++, myOffset, theirOffset, age(timestamp), type, text ?? ''].join(':'));
        }
      });
    });

  meshms
    .command('conversations <mysid>')
    .description('list the conversations of an identity (_id:recipient:read:last_message:read_offset)')
    .action(async (mySid: string) => {
      const my = sidArg(mySid, 'identity');
      await withNode(paths(), async (node) => {
        const rows = tableRows(await node.request('GET', `/restful/meshms/${my}/conversationlist.json`));
        io.out('_id:recipient:read:last_message:read_offset');
        for (const [id, , their, read, last, offset] of rows) {
          io.out([id, their, read ? '' : 'unread', last, offset].map(String).join(':'));
        }
      });
    });

  meshms
    .command('read <mysid> [theirsid] [offset]')
    .description('mark messages read: all conversations, one conversation, or one up to an offset')
    .action(async (mySid: string, theirSid: string | undefined, offset: string | undefined) => {
      const my = sidArg(mySid, 'identity');
      if (offset !== undefined && !/^\d{1,20}$/.test(offset)) fail('USAGE', { arg: `invalid offset: ${offset}` });
      await withNode(paths(), async (node) => {
        if (theirSid === undefined) return post(node, `/restful/meshms/${my}/readall`, [200, 201]);
        const their = sidArg(theirSid, 'recipient');
        if (offset === undefined) return post(node, `/restful/meshms/${my}/${their}/readall`, [200, 201]);
        return post(node, `/restful/meshms/${my}/${their}/recv/${offset}/read`, [200, 201]);
      });
    });
}

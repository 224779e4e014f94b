/**
 * Sync peers: the nodes this node exchanges bundles with. Sync is a capability of its own that
 * not every node has; until the node serves GET /restful/sync/peers.json (and the typed client
 * has its sync helpers), this page says so. When it answers, its table is shown as it comes,
 * whatever its columns, so the page works as soon as the route exists.
 */
import type { JsonTable, TendrilClient } from '../../../src/client/index.js';
import { Empty, ErrorNote, Page, Panel, Table } from '../components.js';
import { useSession } from '../context.js';
import { useInterval, useLoad } from '../hooks.js';

export const PEERS_PATH = '/restful/sync/peers.json';

/** The peers table, or undefined where the node has no sync (404). */
async function peers(client: TendrilClient): Promise<JsonTable | undefined> {
  // The generated types know only the routes the node has today: ask through the raw client.
  const api = client.api as unknown as { GET(path: string): Promise<{ data?: unknown; error?: unknown; response: Response }> };
  const { data, response } = await api.GET(PEERS_PATH);
  if (response.status === 404) return undefined;
  if (!response.ok) throw new Error(`${response.statusText} (HTTP ${response.status})`);
  return data as JsonTable;
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '—';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function SyncPeers() {
  const { client } = useSession();
  const table = useLoad(() => peers(client), [client]);
  useInterval(table.reload, 5000, false);
  return (
    <Page title="Sync" intro="Sync exchanges bundles with other nodes.">
      <Panel title="Peers">
        <ErrorNote error={table.error} />
        {table.data === undefined && !table.loading && table.error === undefined && (
          <Empty>
            This node does not offer sync (it does not serve <code>{PEERS_PATH}</code>). Bundles still move between nodes with{' '}
            <code>tendril rhizome export</code> and <code>import</code>.
          </Empty>
        )}
        {table.data !== undefined && table.data.rows.length === 0 && <Empty>No peer yet.</Empty>}
        {table.data !== undefined && table.data.rows.length > 0 && (
          <Table label="Sync peers" columns={table.data.header}>
            {table.data.rows.map((row, i) => (
              <tr key={i}>
                {row.map((v, j) => (
                  <td key={j} data-label={table.data?.header[j]}>
                    {cell(v)}
                  </td>
                ))}
              </tr>
            ))}
          </Table>
        )}
      </Panel>
    </Page>
  );
}

/**
 * Sync: the nodes this node exchanges bundles with (docs/sync.md §10), refreshed every two seconds
 * while the page is shown. One row per configured peer, per link another node opened and per node
 * found on the local network; the node's totals since it started above them. Peers are the node's
 * configuration, which the REST API does not change: the page says which command does, and for a
 * node found on the LAN, the exact one.
 */
import { isApiError, type SyncPeer, type SyncTotals, type TendrilClient } from '../../../src/client/index.js';
import { Empty, ErrorNote, HexId, Page, Panel, Table } from '../components.js';
import { useSession } from '../context.js';
import { bytes, duration, when } from '../format.js';
import { useInterval, useLoad } from '../hooks.js';
import { Figure } from './dashboard.js';

const EVERY_MS = 2000;

interface SyncView {
  readonly peers: SyncPeer[];
  readonly totals: SyncTotals | undefined;
}

/** Peers and totals; undefined where the node does not serve sync (an older node behind this UI: 404). */
async function load(client: TendrilClient): Promise<SyncView | undefined> {
  try {
    const [peers, totals] = await Promise.all([client.sync.peers(), client.sync.status()]);
    return { peers, totals };
  } catch (err) {
    if (isApiError(err) && err.status === 404) return undefined;
    throw err;
  }
}

const STATES: Record<SyncPeer['state'], string> = {
  connecting: 'connecting',
  reconciling: 'comparing stores',
  transferring: 'transferring',
  idle: 'in sync',
  waiting: 'waiting to retry',
  closed: 'closed',
  discovered: 'found, not dialled',
};

const FOUND: Record<SyncPeer['found'], string> = {
  config: 'configured',
  mdns: 'found on the LAN',
  incoming: 'it dialled this node',
};

function Lag(props: { peer: SyncPeer }) {
  const { lag_bundles: n, lag_seconds: s } = props.peer;
  if (n === 0) return <span class="muted">none</span>;
  return (
    <>
      {n} {n === 1 ? 'bundle' : 'bundles'}, {duration(s)}
    </>
  );
}

function PeerRow(props: { peer: SyncPeer }) {
  const p = props.peer;
  return (
    <tr>
      <td data-label="Peer" class="name">
        <code>{p.address}</code>
        <br />
        <span class="muted">
          {p.direction}, {FOUND[p.found]}
        </span>
      </td>
      <td data-label="Node">
        <HexId value={p.node} label="Node id" />
      </td>
      <td data-label="State">
        {STATES[p.state]}
        {p.last_error !== null && (
          <>
            <br />
            <span class="muted">{p.last_error}</span>
          </>
        )}
        {p.state === 'discovered' && p.node !== null && (
          <>
            <br />
            <span class="muted">
              To sync with it: <code class="cmd">tendril sync peer add --node {p.node} --token-file FILE</code>
            </span>
          </>
        )}
      </td>
      <td data-label="Last contact">{when(p.last_contact)}</td>
      <td data-label="Bundles in / out" class="num">
        {p.bundles_in} / {p.bundles_out}
      </td>
      <td data-label="Bytes in / out" class="num">
        {bytes(p.bytes_in)} / {bytes(p.bytes_out)}
      </td>
      <td data-label="Lag" class="num">
        <Lag peer={p} />
      </td>
    </tr>
  );
}

function Totals(props: { totals: SyncTotals }) {
  const t = props.totals;
  return (
    <Panel title="Since the node started">
      <dl class="figures">
        <Figure label="Links up / peers configured" value={`${t.links_up} / ${t.peers_configured}`} />
        <Figure label="Bundles in / out" value={`${t.bundles_in} / ${t.bundles_out}`} />
        <Figure label="Bytes in / out" value={`${bytes(t.bytes_in)} / ${bytes(t.bytes_out)}`} />
        <Figure label="Reconciliations" value={String(t.sessions)} />
        <Figure label="Bundles refused" value={String(t.rejected)} />
      </dl>
    </Panel>
  );
}

export function SyncPeers() {
  const { client } = useSession();
  const view = useLoad(() => load(client), [client]);
  useInterval(view.reload, EVERY_MS, false);
  const data = view.data;
  const unavailable = data === undefined && !view.loading && view.error === undefined;
  return (
    <Page title="Sync" intro={`Sync exchanges bundles with other nodes, both ways, as soon as they are stored. Live: updated every ${EVERY_MS / 1000} s.`}>
      <ErrorNote error={view.error} />
      {unavailable && <Empty>This node does not offer sync.</Empty>}
      {data?.totals !== undefined && <Totals totals={data.totals} />}
      {data !== undefined && (
        <Panel title="Peers">
          {data.peers.length === 0 && <Empty>No peer yet.</Empty>}
          {data.peers.length > 0 && (
            <Table label="Sync peers" columns={['Peer', 'Node', 'State', 'Last contact', 'Bundles in / out', 'Bytes in / out', 'Lag']} numeric={['Bundles in / out', 'Bytes in / out', 'Lag']}>
              {data.peers.map((p) => (
                <PeerRow key={`${p.direction} ${p.address}`} peer={p} />
              ))}
            </Table>
          )}
        </Panel>
      )}
      <Panel title="Adding and removing peers">
        <p>
          Peers are part of the node’s configuration, which the REST API does not change. On the node’s host, with a token made on the other node (
          <code>tendril web generate-token</code> there; <code>--read-only</code> for a node that should only send here):
        </p>
        <pre class="commands">
          <code>
            {'tendril sync peer add URL --token-file FILE   # URL: the other node’s web server that serves sync\n'}
            {'tendril sync peer add --node ID --token-file FILE   # a node found on the LAN (sync.discovery.enable)\n'}
            {'tendril sync peer remove URL'}
          </code>
        </pre>
        <p class="muted">The node applies the change at once; its row appears or goes here within seconds.</p>
      </Panel>
    </Page>
  );
}

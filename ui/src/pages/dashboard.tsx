/** The node at a glance: its status and figures, refreshed every two seconds while the page is shown. */
import { useState } from 'preact/hooks';
import type { SystemStatus } from '../../../src/client/index.js';
import { ErrorNote, Page, Panel, Table } from '../components.js';
import { useSession } from '../context.js';
import { bytes, duration, percent } from '../format.js';
import { useInterval } from '../hooks.js';

const EVERY_MS = 2000;
const HISTORY = 60;

interface Sample {
  readonly at: number;
  readonly status: SystemStatus;
}

/** A small line of the last values, scaled to its own range. */
function Sparkline(props: { values: readonly number[]; label: string }) {
  const { values } = props;
  if (values.length < 2) return null;
  const max = Math.max(...values);
  const min = Math.min(...values);
  const span = max - min || 1;
  const points = values.map((v, i) => `${((i / (values.length - 1)) * 100).toFixed(1)},${(28 - ((v - min) / span) * 26).toFixed(1)}`).join(' ');
  return (
    <svg class="spark" viewBox="0 0 100 30" preserveAspectRatio="none" role="img" aria-label={props.label}>
      <polyline points={points} />
    </svg>
  );
}

export function Figure(props: { label: string; value: string; history?: readonly number[]; text?: boolean }) {
  return (
    <div class={props.text ? 'figure text' : 'figure'}>
      <dt>{props.label}</dt>
      <dd>{props.value}</dd>
      {props.history && <Sparkline values={props.history} label={`${props.label}, last ${props.history.length} readings`} />}
    </div>
  );
}

export function Dashboard() {
  const { client } = useSession();
  const [samples, setSamples] = useState<Sample[]>([]);
  const [error, setError] = useState<unknown>();

  useInterval(() => {
    client.system().then(
      (status) => {
        setError(undefined);
        setSamples((s) => [...s.slice(-(HISTORY - 1)), { at: Date.now(), status }]);
      },
      (err: unknown) => setError(err),
    );
  }, EVERY_MS);

  const latest = samples.at(-1);
  const history = (pick: (s: SystemStatus) => number): number[] => samples.map((s) => pick(s.status));
  return (
    <Page title="Dashboard" intro={latest ? `Live: updated every ${EVERY_MS / 1000} s, last at ${new Date(latest.at).toLocaleTimeString()}.` : 'Reading the node’s status…'}>
      <ErrorNote error={error} />
      {latest && <Status status={latest.status} history={history} />}
    </Page>
  );
}

function Status(props: { status: SystemStatus; history: (pick: (s: SystemStatus) => number) => number[] }) {
  const { system, node } = props.status;
  const uptime = (Date.now() - Date.parse(node.started_at)) / 1000;
  return (
    <>
      <Panel title="Node">
        <dl class="figures">
          <Figure label="Bundles" value={String(node.bundles)} history={props.history((s) => s.node.bundles)} />
          <Figure label="Store size" value={bytes(node.store_bytes)} history={props.history((s) => s.node.store_bytes)} />
          <Figure label="Unlocked identities" value={String(node.unlocked_identities)} />
          <Figure label="Event-loop delay p99" value={`${node.event_loop_delay.p99_ms.toFixed(1)} ms`} history={props.history((s) => s.node.event_loop_delay.p99_ms)} />
          <Figure label="Running for" value={duration(uptime)} />
          <Figure label="Version" value={node.version} text />
        </dl>
        <p class="muted">
          Instance directory <code>{node.instance}</code>, started {new Date(node.started_at).toLocaleString()}.
        </p>
      </Panel>
      <Panel title="Web servers">
        <Table label="Web servers" columns={['Mode', 'Address', 'Serves', 'Kind']}>
          {node.web_servers.map((s) => (
            <tr key={s.url}>
              <td data-label="Mode">{s.mode}</td>
              <td data-label="Address">
                <code>{s.url}</code>
              </td>
              <td data-label="Serves">{s.serve.join(', ')}</td>
              <td data-label="Kind">{s.dedicated ? 'dedicated' : 'embedded'}</td>
            </tr>
          ))}
        </Table>
      </Panel>
      <Panel title="Host">
        <dl class="figures">
          <Figure label="Load (1 min)" value={`${system.load_average_1min.toFixed(2)} on ${system.processor_count} cores`} history={props.history((s) => s.system.load_average_1min)} />
          <Figure label="Memory used" value={percent(system.used_memory_percent)} history={props.history((s) => s.system.used_memory_percent)} />
          <Figure label="Disk used" value={percent(system.used_disk_percent)} />
          <Figure label="Temperature" value={system.temperature_celsius === null ? '—' : `${system.temperature_celsius.toFixed(0)} °C`} />
          <Figure label="Host" value={system.hostname} text />
          <Figure label="System" value={`${system.operating_system}, kernel ${system.kernel_version}, ${system.uptime}`} text />
        </dl>
      </Panel>
    </>
  );
}

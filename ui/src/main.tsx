/** The Tendril web UI: a client of the node's public REST API, served by the node at /ui. */
import { render } from 'preact';
import { App } from './app.js';
import './styles.css';

render(<App />, document.getElementById('app')!);

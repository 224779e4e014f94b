/**
 * The package's public surface: the typed client (`tendril/client`; in Node also
 * `tendril/client/node` for TCP, TLS and the control socket). The daemon itself is run with the
 * `tendril` command.
 */
export * from './client/index.js';

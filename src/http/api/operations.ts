/**
 * Routes for running a node rather than using it: `/healthz` for load balancers and supervisors
 * (no credentials, and nothing in the answer beyond "up"), and the control socket's configuration
 * reload, which answers once the running node applies its configuration file.
 */
import { jsonResult, type Handler, type JsonResult } from '../types.js';

const HEALTHY: JsonResult = jsonResult(200, 'OK', [], { 'Cache-Control': 'no-store' });

export interface OperationHandlers {
  readonly health: Handler;
  readonly reloadConfig: Handler;
}

/** `reload` applies the configuration file now (throwing when it is invalid); a node without one has nothing to apply. */
export function operationHandlers(reload: (() => void) | undefined): OperationHandlers {
  return {
    health: () => HEALTHY,
    reloadConfig() {
      reload?.();
      return jsonResult(200, 'Configuration applied');
    },
  };
}

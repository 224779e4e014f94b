/**
 * The error every client call throws for an answer that is not a success: the HTTP status, the
 * reason phrase, Tendril's stable error code (the `Tendril-Error` header) and the JSON result.
 */

/** The JSON result object Tendril answers with when there is nothing else to say (spec §1.11.3). */
export interface JsonResult {
  readonly http_status_code: number;
  readonly http_status_message: string;
  readonly rhizome_bundle_status_code?: number;
  readonly rhizome_bundle_status_message?: string;
  readonly rhizome_payload_status_code?: number;
  readonly rhizome_payload_status_message?: string;
  readonly meshms_status_code?: number;
  readonly meshms_status_message?: string;
  readonly [member: string]: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    /** Tendril's error code, e.g. `ACCESS_UNAUTHORIZED` (undefined from other servers). */
    readonly code: string | undefined,
    readonly result: JsonResult | undefined,
  ) {
    super(describe(status, reason, result));
    this.name = 'TendrilApiError';
  }
}

/** True for an ApiError, also across copies of this module (checked by name). */
export function isApiError(err: unknown): err is ApiError {
  return err instanceof Error && err.name === 'TendrilApiError' && 'status' in err;
}

/** `Reason (HTTP 404)`, plus the Rhizome or MeshMS status message when it says more. */
function describe(status: number, reason: string, result: JsonResult | undefined): string {
  let detail: string | undefined;
  if (result) {
    // Bundle statuses from 4 and payload statuses from 3 are the failures (spec §3.1).
    if ((result.rhizome_bundle_status_code ?? 0) >= 4) detail = result.rhizome_bundle_status_message;
    else if ((result.rhizome_payload_status_code ?? 0) >= 3) detail = result.rhizome_payload_status_message;
  }
  return `${reason} (HTTP ${status})${detail !== undefined && detail !== reason ? `: ${detail}` : ''}`;
}

/** The ApiError for a response, its body read as a JSON result when it is one. */
export async function apiErrorOf(response: Response): Promise<ApiError> {
  let result: JsonResult | undefined;
  try {
    const text = await response.text();
    const parsed = JSON.parse(text) as unknown;
    if (parsed !== null && typeof parsed === 'object' && 'http_status_code' in parsed) result = parsed as JsonResult;
  } catch {
    // not a JSON result: the status line is all there is
  }
  return new ApiError(response.status, response.statusText, response.headers.get('tendril-error') ?? undefined, result);
}

/**
 * MeshMS statuses (spec §4.2): every MeshMS JSON result carries `meshms_status_code` and
 * `meshms_status_message`, the reference's numbers and words, which clients read.
 */
import { fail, type ErrorCode, type JsonValue } from '../../errors.js';

export const MeshmsStatus = {
  ERROR: -1,
  OK: 0,
  UPDATED: 1,
  SID_LOCKED: 2,
  PROTOCOL_FAULT: 3,
} as const;
export type MeshmsStatus = (typeof MeshmsStatus)[keyof typeof MeshmsStatus];

const MESSAGES: Record<MeshmsStatus, string> = {
  [-1]: 'Internal error',
  0: 'OK',
  1: 'Updated',
  2: 'Identity unknown',
  3: 'MeshMS protocol fault',
};

/** The two members every MeshMS JSON result ends with. */
export function meshmsMembers(status: MeshmsStatus): ReadonlyArray<readonly [string, JsonValue]> {
  return [
    ['meshms_status_code', status],
    ['meshms_status_message', MESSAGES[status]],
  ];
}

const FAILURES: Partial<Record<MeshmsStatus, ErrorCode>> = {
  [-1]: 'MESHMS_ERROR',
  2: 'MESHMS_IDENTITY_LOCKED',
  3: 'MESHMS_PROTOCOL_FAULT',
};

/** Throws the catalogue error of a failed MeshMS operation, with its members. */
export function failMeshms(status: MeshmsStatus, cause?: unknown): never {
  return fail(FAILURES[status] ?? 'MESHMS_ERROR', { members: meshmsMembers(status), cause });
}

import { GatewayError } from './errors.js';
import type { BucketRecord, User } from './types.js';

/**
 * One ACL model for both APIs: S3 renders it as XML grants (CanonicalUser, AllUsers,
 * AuthenticatedUsers), QingStor as JSON (`user`, `QS_ALL_USERS`). A bucket's grants apply to its
 * objects too, as QingStor's bucket ACL does; the owner always holds FULL_CONTROL.
 */

/** What a grant allows. QingStor knows READ, WRITE and FULL_CONTROL; S3 adds the _ACP pair. */
export type Permission = 'READ' | 'WRITE' | 'READ_ACP' | 'WRITE_ACP' | 'FULL_CONTROL';
export const PERMISSIONS: readonly Permission[] = ['READ', 'WRITE', 'READ_ACP', 'WRITE_ACP', 'FULL_CONTROL'];

/** The predefined groups: everyone (anonymous included), or every authenticated user. */
export type Group = 'AllUsers' | 'AuthenticatedUsers';

/** Who a grant is for. */
export type Grantee = { type: 'user'; id: string } | { type: 'group'; group: Group };

/** One entry of an ACL. */
export interface Grant {
  grantee: Grantee;
  permission: Permission;
}

/** What an operation needs: a permission, or being the bucket's owner (DeleteBucket, CORS). */
export type Access = Permission | 'OWNER';

/** The canned ACLs of S3's x-amz-acl (QingStor has no canned ACLs). */
export const CANNED_ACLS: Record<string, Grant[]> = {
  private: [],
  'public-read': [{ grantee: { type: 'group', group: 'AllUsers' }, permission: 'READ' }],
  'public-read-write': [
    { grantee: { type: 'group', group: 'AllUsers' }, permission: 'READ' },
    { grantee: { type: 'group', group: 'AllUsers' }, permission: 'WRITE' },
  ],
  'authenticated-read': [{ grantee: { type: 'group', group: 'AuthenticatedUsers' }, permission: 'READ' }],
};

/** A bucket's grants besides the owner's, as stored. */
export function grantsOf(bucket: BucketRecord): Grant[] {
  return bucket.acl ?? [];
}

function matches(grantee: Grantee, user: User | undefined): boolean {
  if (grantee.type === 'user') return user !== undefined && user.id === grantee.id;
  return grantee.group === 'AllUsers' || user !== undefined;
}

/** Whether `user` (undefined = anonymous) may do what `need` names on `bucket`. */
export function allows(bucket: BucketRecord, user: User | undefined, need: Access): boolean {
  if (user !== undefined && user.id === bucket.owner) return true;
  if (need === 'OWNER') return false;
  return grantsOf(bucket).some((g) => matches(g.grantee, user) && (g.permission === need || g.permission === 'FULL_CONTROL'));
}

/** Checks a grant list before it is stored: known permissions, well-formed grantees, no duplicates kept. */
export function normalizeGrants(grants: Grant[], owner: string): Grant[] {
  const seen = new Set<string>();
  const out: Grant[] = [];
  for (const g of grants) {
    if (!PERMISSIONS.includes(g.permission)) throw new GatewayError('MalformedACLError');
    if (g.grantee.type === 'user' && !g.grantee.id) throw new GatewayError('MalformedACLError');
    // The owner's FULL_CONTROL is implicit; keeping it would only make renderings disagree.
    if (g.grantee.type === 'user' && g.grantee.id === owner) continue;
    const id = `${g.grantee.type === 'user' ? `u:${g.grantee.id}` : `g:${g.grantee.group}`}/${g.permission}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(g);
  }
  return out;
}

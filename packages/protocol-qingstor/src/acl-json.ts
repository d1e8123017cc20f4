import { GatewayError, grantsOf, type BucketRecord, type Grant, type Permission, type UserDirectory } from '@twinport/core';

// QingStor's JSON rendering of the core's ACL model:
//   {"acl":[{"grantee":{"type":"user","id":"...","name":"..."},"permission":"READ"},
//           {"grantee":{"type":"group","name":"QS_ALL_USERS"},"permission":"FULL_CONTROL"}]}
// A `user` grantee is a core user id; the group QS_ALL_USERS (everyone, anonymous included) is the
// core group AllUsers. QingStor knows READ, WRITE and FULL_CONTROL only.

/** QingStor's one group: everyone, anonymous callers included. */
export const QS_ALL_USERS = 'QS_ALL_USERS';

const QS_PERMISSIONS: readonly Permission[] = ['READ', 'WRITE', 'FULL_CONTROL'];

/** One entry of a QingStor ACL document. */
export interface QsGrant {
  grantee: { type: 'user'; id: string; name: string } | { type: 'group'; name: string };
  permission: Permission;
}

/** The GET ?acl document: the owner, then the owner's FULL_CONTROL and the bucket's grants. */
export function aclJson(bucket: BucketRecord, users: UserDirectory): { owner: { id: string; name: string }; acl: QsGrant[] } {
  const nameOf = (id: string) => users.byId(id)?.name ?? id;
  const acl: QsGrant[] = [{ grantee: { type: 'user', id: bucket.owner, name: nameOf(bucket.owner) }, permission: 'FULL_CONTROL' }];
  for (const g of grantsOf(bucket)) {
    // Grants QingStor cannot express (READ_ACP, WRITE_ACP, the AuthenticatedUsers group, set
    // through S3) are left out of this rendering; they stay stored and enforced.
    if (!QS_PERMISSIONS.includes(g.permission)) continue;
    if (g.grantee.type === 'user') acl.push({ grantee: { type: 'user', id: g.grantee.id, name: nameOf(g.grantee.id) }, permission: g.permission });
    else if (g.grantee.group === 'AllUsers') acl.push({ grantee: { type: 'group', name: QS_ALL_USERS }, permission: g.permission });
  }
  return { owner: { id: bucket.owner, name: nameOf(bucket.owner) }, acl };
}

function invalid(message: string): GatewayError {
  return new GatewayError('InvalidRequest', message);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The grants of a PUT ?acl document (which replaces the whole list; `[]` makes the bucket private).
 * A `user` grantee is named by `id` (a user's id as GET ?acl shows it) or, failing that, by `name`;
 * it must be a known user. Anything that does not describe an ACL is invalid_request.
 */
export function grantsFromJson(doc: Record<string, unknown>, users: UserDirectory): Grant[] {
  const list = doc.acl;
  if (!Array.isArray(list)) throw invalid('The request body must have an "acl" list.');
  return list.map((entry, i): Grant => {
    if (!isObject(entry) || !isObject(entry.grantee)) throw invalid(`acl[${i}] must have a "grantee" object.`);
    const permission = entry.permission;
    if (typeof permission !== 'string' || !QS_PERMISSIONS.includes(permission as Permission)) throw invalid(`acl[${i}].permission must be READ, WRITE or FULL_CONTROL.`);
    const { type, id, name } = entry.grantee;
    if (type === 'group') {
      if (name !== QS_ALL_USERS) throw invalid(`acl[${i}].grantee: the only group is ${QS_ALL_USERS}.`);
      return { grantee: { type: 'group', group: 'AllUsers' }, permission: permission as Permission };
    }
    if (type !== 'user') throw invalid(`acl[${i}].grantee.type must be "user" or "group".`);
    const user = typeof id === 'string' && id !== '' ? users.byId(id) : typeof name === 'string' ? users.all().find((u) => u.name === name) : undefined;
    if (!user) throw new GatewayError('InvalidArgument', `acl[${i}].grantee does not name a known user.`);
    return { grantee: { type: 'user', id: user.id }, permission: permission as Permission };
  });
}

import type { IncomingHttpHeaders } from 'node:http';
import { CANNED_ACLS, GatewayError, PERMISSIONS, grantsOf, type BucketRecord, type Grant, type Grantee, type Group, type Permission } from '@twinport/core';
import { children, childText, rootElement, type XmlNode } from './xml.js';
import { ownerXml, type S3Request } from './request.js';

// S3's renderings of the core's ACL model: AccessControlPolicy XML, x-amz-acl and x-amz-grant-*.

const GROUP_URIS: Record<Group, string> = {
  AllUsers: 'http://acs.amazonaws.com/groups/global/AllUsers',
  AuthenticatedUsers: 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers',
};
const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
const GRANT_HEADERS: Array<[string, Permission]> = [
  ['x-amz-grant-read', 'READ'],
  ['x-amz-grant-write', 'WRITE'],
  ['x-amz-grant-read-acp', 'READ_ACP'],
  ['x-amz-grant-write-acp', 'WRITE_ACP'],
  ['x-amz-grant-full-control', 'FULL_CONTROL'],
];

function groupOf(uri: string): Group {
  const g = (Object.keys(GROUP_URIS) as Group[]).find((k) => GROUP_URIS[k] === uri.trim());
  if (!g) throw new GatewayError('InvalidArgument', 'Invalid group uri', { ArgumentName: 'uri', ArgumentValue: uri });
  return g;
}

function granteeXml(r: S3Request, g: Grantee): XmlNode {
  if (g.type === 'user') return { $: { 'xmlns:xsi': XSI, 'xsi:type': 'CanonicalUser' }, ...ownerXml(r, g.id) };
  return { $: { 'xmlns:xsi': XSI, 'xsi:type': 'Group' }, URI: GROUP_URIS[g.group] };
}

/** The AccessControlPolicy body of a bucket (and of its objects, which share its grants). */
export function aclXml(r: S3Request, bucket: BucketRecord): XmlNode {
  const grants = [{ grantee: { type: 'user', id: bucket.owner } as Grantee, permission: 'FULL_CONTROL' as Permission }, ...grantsOf(bucket)];
  return {
    Owner: ownerXml(r, bucket.owner),
    AccessControlList: { Grant: grants.map((g) => ({ Grantee: granteeXml(r, g.grantee), Permission: g.permission })) },
  };
}

/** The grants of a PutBucketAcl XML body; MalformedACLError when it does not describe an ACL. */
export function grantsFromXml(doc: Record<string, unknown>): Grant[] {
  const policy = rootElement(doc, 'AccessControlPolicy');
  const list = children(policy, 'AccessControlList')[0];
  if (list === undefined) throw new GatewayError('MalformedACLError');
  return children(list, 'Grant').map((g) => {
    const permission = (childText(g, 'Permission') ?? '').trim() as Permission;
    const el = children(g, 'Grantee')[0] as { $?: Record<string, string> } | undefined;
    if (!el || !PERMISSIONS.includes(permission)) throw new GatewayError('MalformedACLError');
    const type = el.$?.type;
    const id = childText(el, 'ID')?.trim();
    const uri = childText(el, 'URI')?.trim();
    if (type === 'CanonicalUser' && id) return { grantee: { type: 'user', id }, permission };
    if (type === 'Group' && uri) return { grantee: { type: 'group', group: groupOf(uri) }, permission };
    if (type === 'AmazonCustomerByEmail') throw new GatewayError('NotImplemented', 'Grants by email address are not supported.');
    throw new GatewayError('MalformedACLError');
  });
}

/**
 * The grants an x-amz-acl or x-amz-grant-* header asks for; undefined when there is none. Both at
 * once is an error, as in S3.
 */
export function grantsFromHeaders(headers: IncomingHttpHeaders): Grant[] | undefined {
  const canned = headers['x-amz-acl'];
  const explicit = GRANT_HEADERS.filter(([h]) => typeof headers[h] === 'string');
  if (typeof canned === 'string' && explicit.length > 0) {
    throw new GatewayError('InvalidRequest', 'Specifying both Canned ACLs and Header Grants is not allowed');
  }
  if (typeof canned === 'string') {
    const grants = CANNED_ACLS[canned.trim()];
    if (!grants) throw new GatewayError('InvalidArgument', undefined, { ArgumentName: 'x-amz-acl', ArgumentValue: canned });
    return grants;
  }
  if (explicit.length === 0) return undefined;
  const out: Grant[] = [];
  for (const [h, permission] of explicit) {
    for (const item of String(headers[h]).split(',')) {
      const m = /^\s*(id|uri|emailAddress)\s*=\s*"?([^"]*)"?\s*$/i.exec(item);
      if (!m) throw new GatewayError('InvalidArgument', undefined, { ArgumentName: h, ArgumentValue: String(headers[h]) });
      const kind = m[1].toLowerCase();
      if (kind === 'emailaddress') throw new GatewayError('NotImplemented', 'Grants by email address are not supported.');
      out.push({ grantee: kind === 'id' ? { type: 'user', id: m[2] } : { type: 'group', group: groupOf(m[2]) }, permission });
    }
  }
  return out;
}

import { createHash } from 'node:crypto';
import type { User } from './types.js';

/** The users who can authenticate, found by access key (both APIs share them). */
export class UserDirectory {
  private readonly byKey = new Map<string, User>();

  constructor(users: Array<{ name: string; accessKey: string; secretKey: string }>) {
    for (const u of users) this.byKey.set(u.accessKey, { ...u, id: userId(u.name) });
  }

  /** The user owning `accessKey`, or undefined. */
  find(accessKey: string): User | undefined {
    return this.byKey.get(accessKey);
  }

  /** Every user. */
  all(): User[] {
    return [...this.byKey.values()];
  }

  /** The user with canonical id `id`, or undefined. */
  byId(id: string): User | undefined {
    for (const u of this.byKey.values()) if (u.id === id) return u;
    return undefined;
  }
}

/** A stable 64-hex canonical user id derived from the user name, as S3 shows owners. */
export function userId(name: string): string {
  return createHash('sha256').update(`twinport-user:${name}`).digest('hex');
}

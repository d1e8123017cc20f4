import { GatewayError } from './errors.js';
import { normalizeGrants, type Grant } from './acl.js';
import { matchCors, validateCors, type CorsRule } from './cors.js';
import type { Engine } from './engine.js';
import type { BucketRecord, User } from './types.js';

/** What a bucket holds: its object count and their total size in bytes. */
export interface BucketStats {
  count: number;
  size: number;
}

/**
 * A bucket's settings (ACL, CORS) and statistics. Settings live in the bucket's record in the
 * metadata store and change by atomic read-modify-write, so every gateway instance enforces a
 * change from the next request on.
 */
export class BucketSettings {
  constructor(private readonly engine: Engine) {}

  /** Replaces a bucket's grants (the owner keeps FULL_CONTROL); needs WRITE_ACP. */
  async putAcl(user: User | undefined, name: string, grants: Grant[]): Promise<BucketRecord> {
    const rec = await this.engine.bucket(user, name, 'WRITE_ACP');
    const acl = normalizeGrants(grants, rec.owner);
    return this.change(name, (cur) => ({ ...cur, acl }));
  }

  /** The bucket's CORS rules; NoSuchCORSConfiguration when none are set. Owner only. */
  async getCors(user: User | undefined, name: string): Promise<CorsRule[]> {
    const rec = await this.engine.bucket(user, name, 'OWNER');
    if (!rec.cors?.length) throw new GatewayError('NoSuchCORSConfiguration', undefined, { BucketName: name });
    return rec.cors;
  }

  /** Replaces the bucket's CORS rules. Owner only. */
  async putCors(user: User | undefined, name: string, rules: CorsRule[]): Promise<void> {
    await this.engine.bucket(user, name, 'OWNER');
    const cors = validateCors(rules);
    await this.change(name, (cur) => ({ ...cur, cors }));
  }

  /** Removes the bucket's CORS rules (idempotent). Owner only. */
  async deleteCors(user: User | undefined, name: string): Promise<void> {
    await this.engine.bucket(user, name, 'OWNER');
    await this.change(name, ({ cors: _dropped, ...rest }) => rest);
  }

  /**
   * The rule that allows a cross-origin request, for a preflight or an actual request; anyone may
   * ask, as browsers send preflights without credentials. NoSuchBucket when there is no bucket.
   */
  async corsRule(name: string, origin: string, method: string, headers: string[] = []): Promise<CorsRule | undefined> {
    const rec = await this.engine.meta.get<BucketRecord>('buckets', name);
    if (!rec || rec.state === 'creating') throw new GatewayError('NoSuchBucket', undefined, { BucketName: name });
    return matchCors(rec.cors, origin, method, headers);
  }

  /** Counts the bucket's objects and bytes by walking its listing. Owner only. */
  async stats(user: User | undefined, name: string): Promise<BucketStats & { bucket: BucketRecord }> {
    const bucket = await this.engine.bucket(user, name, 'OWNER');
    const out = { count: 0, size: 0 };
    let after: string | undefined;
    for (;;) {
      const page = await this.engine.driver.listObjects(name, { prefix: '', after, limit: 1000 });
      for (const r of page) {
        out.count++;
        out.size += r.size;
      }
      if (page.length < 1000) return { ...out, bucket };
      after = page[page.length - 1].key;
    }
  }

  private async change(name: string, fn: (cur: BucketRecord) => BucketRecord): Promise<BucketRecord> {
    const stored = await this.engine.meta.update<BucketRecord>('buckets', name, (cur) => {
      if (!cur || cur.state === 'creating') throw new GatewayError('NoSuchBucket', undefined, { BucketName: name });
      return fn(cur);
    });
    return stored!;
  }
}

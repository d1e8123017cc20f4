// EmbeddedMetaStore against the metadata conformance suite.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedMetaStore } from '../../packages/meta-embedded/src/index.js';
import { metaConformance, type MetaFixture } from '../conformance/meta-suite.js';

metaConformance('EmbeddedMetaStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'twinport-meta-'));
  const fx: MetaFixture = {
    meta: await EmbeddedMetaStore.open(join(dir, 'meta')),
    reopen: () => EmbeddedMetaStore.open(join(dir, 'meta')),
    cleanup: async () => {
      await fx.meta.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return fx;
});

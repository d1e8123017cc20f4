import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from './config.js';

/**
 * Claims a data directory for this process. Two gateways on one directory would each clean up the
 * other's in-flight writes at start, so a second one is refused while the first is alive; the
 * claim of a process that died (SIGKILL, power loss) is taken over.
 */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, 'gateway.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => rm(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new ConfigError(`GATEWAY_DATA_DIR: ${dir} is in use by another gateway (pid ${pid})`);
      }
      await rm(path, { force: true });
    }
  }
  throw new ConfigError(`GATEWAY_DATA_DIR: cannot claim ${dir}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

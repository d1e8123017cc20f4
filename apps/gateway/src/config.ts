import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** The development credentials used when none are configured; printed at start so nobody relies on them unknowingly. */
export const DEV_ACCESS_KEY = 'TWINPORTDEVACCESSKEY';
export const DEV_SECRET_KEY = 'twinport-development-secret-change-me';

const port = z.coerce.number().int().min(0).max(65535);
const csv = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

/** Every option, its environment variable, its default and a sentence of help (rendered by --help). */
export const OPTIONS = {
  GATEWAY_HOST: { schema: z.string().min(1), default: '127.0.0.1', help: 'address the listeners bind' },
  GATEWAY_S3_PORT: { schema: port, default: '9000', help: 'S3 API port (0 = any free port)' },
  GATEWAY_QINGSTOR_PORT: { schema: port, default: '9001', help: 'QingStor API port (0 = any free port)' },
  GATEWAY_ACCESS_KEY: { schema: z.string().min(3), default: DEV_ACCESS_KEY, help: 'root access key (both APIs)' },
  GATEWAY_SECRET_KEY: { schema: z.string().min(8), default: DEV_SECRET_KEY, help: 'root secret key' },
  GATEWAY_USERS_FILE: { schema: z.string().optional(), default: undefined, help: 'JSON file of further users: [{"name","accessKey","secretKey"}]' },
  GATEWAY_DATA_DIR: { schema: z.string().min(1), default: './data', help: 'disk driver data and the embedded metadata' },
  GATEWAY_DRIVER: { schema: z.enum(['disk', 's3']), default: 'disk', help: 'storage driver: disk or s3' },
  GATEWAY_UPSTREAM_ENDPOINT: { schema: z.string().url().optional(), default: undefined, help: 'upstream S3 endpoint for GATEWAY_DRIVER=s3' },
  GATEWAY_UPSTREAM_ACCESS_KEY: { schema: z.string().optional(), default: undefined, help: 'upstream access key' },
  GATEWAY_UPSTREAM_SECRET_KEY: { schema: z.string().optional(), default: undefined, help: 'upstream secret key' },
  GATEWAY_UPSTREAM_REGION: { schema: z.string().optional(), default: undefined, help: 'upstream region' },
  GATEWAY_META: { schema: z.enum(['embedded', 'redis']), default: 'embedded', help: 'metadata store: embedded or redis' },
  GATEWAY_REDIS_URL: { schema: z.string().url(), default: 'redis://127.0.0.1:6379', help: 'Redis for GATEWAY_META=redis' },
  GATEWAY_ZONES: { schema: csv.pipe(z.array(z.string().regex(/^[a-z0-9-]+$/, 'zone names are lowercase letters, digits and -')).min(1)), default: 'pek3a,sh1a,gd2', help: 'QingStor zones (= S3 regions) offered' },
  GATEWAY_DEFAULT_ZONE: { schema: z.string().min(1), default: 'pek3a', help: 'zone of buckets created without one' },
  GATEWAY_S3_DOMAIN: { schema: z.string().min(1), default: 'localhost', help: 'base host for virtual-host-style S3 requests (<bucket>.<domain>)' },
  GATEWAY_QINGSTOR_DOMAIN: { schema: z.string().min(1), default: 'localhost', help: 'base host for QingStor zone addressing (<bucket>.<zone>.<domain>)' },
  GATEWAY_DEFAULT_CHECKSUM: { schema: z.enum(['none', 'crc64nvme']), default: 'none', help: 'checksum stored for uploads that bring none (AWS stores CRC64NVME; costs about a third of PUT throughput)' },
  GATEWAY_LOG_LEVEL: { schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'silent']), default: 'info', help: 'log level; info logs one line per request' },
  GATEWAY_CONFIG_FILE: { schema: z.string().optional(), default: undefined, help: 'JSON file with any of these options by name (environment variables win)' },
} as const;

type Options = typeof OPTIONS;
/** The validated configuration. */
export type Config = { [K in keyof Options]: z.output<Options[K]['schema']> };

const usersSchema = z.array(z.object({ name: z.string().min(1), accessKey: z.string().min(3), secretKey: z.string().min(8) }));

/** A configuration problem, naming the option. */
export class ConfigError extends Error {}

/** Reads and validates the configuration from the environment (and the config file it names). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  let file: Record<string, unknown> = {};
  const path = env.GATEWAY_CONFIG_FILE;
  if (path) {
    try {
      file = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new ConfigError(`GATEWAY_CONFIG_FILE: cannot read ${path}: ${(e as Error).message}`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [name, opt] of Object.entries(OPTIONS)) {
    const raw = env[name] ?? (file[name] === undefined ? undefined : String(file[name])) ?? opt.default;
    const parsed = (opt.schema as z.ZodType).safeParse(raw);
    if (!parsed.success) throw new ConfigError(`${name}: invalid value ${JSON.stringify(raw)}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    out[name] = parsed.data;
  }
  const config = out as Config;
  if (!config.GATEWAY_ZONES.includes(config.GATEWAY_DEFAULT_ZONE)) throw new ConfigError(`GATEWAY_DEFAULT_ZONE: ${config.GATEWAY_DEFAULT_ZONE} is not one of GATEWAY_ZONES (${config.GATEWAY_ZONES.join(',')})`);
  return config;
}

/** The users who may sign requests: the root pair plus those of GATEWAY_USERS_FILE. */
export function loadUsers(config: Config): Array<{ name: string; accessKey: string; secretKey: string }> {
  const users = [{ name: 'root', accessKey: config.GATEWAY_ACCESS_KEY, secretKey: config.GATEWAY_SECRET_KEY }];
  if (!config.GATEWAY_USERS_FILE) return users;
  let parsed;
  try {
    parsed = usersSchema.safeParse(JSON.parse(readFileSync(config.GATEWAY_USERS_FILE, 'utf8')));
  } catch (e) {
    throw new ConfigError(`GATEWAY_USERS_FILE: cannot read ${config.GATEWAY_USERS_FILE}: ${(e as Error).message}`);
  }
  if (!parsed.success) throw new ConfigError(`GATEWAY_USERS_FILE: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const keys = new Set(users.map((u) => u.accessKey));
  for (const u of parsed.data) {
    if (keys.has(u.accessKey)) throw new ConfigError(`GATEWAY_USERS_FILE: access key ${u.accessKey} is used twice`);
    keys.add(u.accessKey);
    users.push(u);
  }
  return users;
}

/** The --help text: every option with its default. */
export function helpText(): string {
  const lines = ['Usage: npm start  (or: node apps/gateway/dist/main.js [--help])', '', 'Configuration (environment variables):'];
  for (const [name, opt] of Object.entries(OPTIONS)) lines.push(`  ${name.padEnd(28)} ${opt.help}${opt.default !== undefined ? ` (default: ${opt.default})` : ''}`);
  return lines.join('\n');
}

export { RedisMetaStore, type RedisMetaOptions } from './store.js';

export * from './errors.js';
export * from './types.js';
export * from './driver.js';
export * from './meta.js';
export * from './checksum.js';

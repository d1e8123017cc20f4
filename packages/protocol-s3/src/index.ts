export * from './auth/index.js';
export { createS3App, renderError, type S3AppOptions } from './app.js';

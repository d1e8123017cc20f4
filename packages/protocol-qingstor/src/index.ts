export * from './auth/index.js';
export { addressError, resolveAddress, type Address, type AddressProblem, type AddressingConfig } from './addressing.js';
export { CODE_MAP, ERROR_DOC_URL, QS_CODES, errorBody, renderError, toQsError, type QsCode, type QsError, type QsErrorBody } from './errors.js';
export { JSON_LIMIT, readJson, readJsonObject, sendJson, type Exchange, type JsonReadOptions } from './json.js';
export { DRAIN_LIMIT, discardBody } from './drain.js';
export { encodePath, parseQuery, percentDecode, splitTarget, type RawTarget } from './url.js';
export { createQingStorApp, type QingStorAppOptions } from './app.js';

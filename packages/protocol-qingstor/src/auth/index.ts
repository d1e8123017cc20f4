export {
  SUB_RESOURCES,
  authorizationHeader,
  canonicalizedHeaders,
  canonicalizedResource,
  computeSignature,
  headerValue,
  signedQuery,
  stringToSign,
  type ClientRequest,
  type HeaderBag,
  type ResourceOptions,
  type SigningParts,
} from './signer.js';
export { MAX_SKEW_MS, verifyRequest, type UserLookup, type VerifyInput } from './verify.js';

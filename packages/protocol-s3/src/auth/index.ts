export { uriEncode, decodePath, parseQuery, canonicalQuery } from './encoding.js';
export {
  ALGORITHM,
  EMPTY_SHA256,
  UNSIGNED_PAYLOAD,
  authenticate,
  canonicalRequest,
  canonicalUri,
  formatAmzDate,
  hmacHex,
  sha256Hex,
  signaturesMatch,
  signingKey,
  stringToSign,
  type AuthResult,
  type IncomingAuthRequest,
} from './sigv4.js';
export { AwsChunkedDecoder, chunkSignature, trailerSignature, type ChunkedMode, type ChunkedOptions, type StreamingContext } from './chunked.js';
export { encodeChunkedBody, presignUrl, signHeaders, streamingContextFor, type Credentials } from './signer.js';
export { v2Signature, v2StringToSign } from './sigv2.js';

/**
 * Just enough XML for the upstream's answers (ListBucketResult, InitiateMultipartUploadResult,
 * CompleteMultipartUploadResult, CopyObjectResult, Error): flat elements whose names never nest
 * inside themselves, read with their entities decoded.
 */

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decodes XML entities and character references. */
export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, ref: string) => {
    if (ref[0] === '#') return String.fromCodePoint(ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10));
    return ENTITIES[ref] ?? whole;
  });
}

/** The raw contents of every `<tag>` element, in document order (`<tag/>` gives ''). */
export function elements(xml: string, tag: string): string[] {
  const re = new RegExp(`<${tag}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</${tag}\\s*>)`, 'g');
  const out: string[] = [];
  for (let m = re.exec(xml); m; m = re.exec(xml)) out.push(m[1] ?? '');
  return out;
}

/** The decoded text of the first `<tag>` element, or undefined. */
export function text(xml: string, tag: string): string | undefined {
  const [first] = elements(xml, tag);
  if (first === undefined) return undefined;
  const cdata = /^<!\[CDATA\[([\s\S]*)\]\]>$/.exec(first);
  return cdata ? cdata[1] : decodeEntities(first);
}

/** Escapes text for an element's content. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&${Object.keys(ENTITIES).find((k) => ENTITIES[k] === c)};`);
}

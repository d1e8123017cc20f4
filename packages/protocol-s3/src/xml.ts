import { parseStringPromise } from 'xml2js';
import { GatewayError } from '@twinport/core';

/** An element's content: text, a nested element map, or a list rendered as repeated elements. */
export type XmlValue = string | number | boolean | undefined | null | XmlNode | XmlValue[];
/** Child elements by name, rendered in insertion order; undefined/null values are skipped; `$` holds attributes. */
export interface XmlNode { [name: string]: XmlValue }

const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/**
 * Escapes text for XML; control characters, which XML 1.0 cannot carry raw, become references.
 * This copies S3, which writes such key bytes as `&#x1b;`-style references (quoted in
 * aws/aws-sdk-php#169, aws/aws-sdk-java-v2#1172, boto/botocore#3496): strict XML 1.0 parsers reject
 * them, which is why botocore always lists with encoding-type=url, while the JS SDK v3 parser
 * reads them back as the original characters. A raw control byte would break every parser.
 */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"'\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, (c) => {
    switch (c) {
      case '&': return '&amp;';
      case '<': return '&lt;';
      case '>': return '&gt;';
      case '"': return '&quot;';
      case '\'': return '&apos;';
      default: return `&#x${c.charCodeAt(0).toString(16)};`;
    }
  });
}

function renderValue(name: string, v: XmlValue, out: string[]): void {
  if (v === undefined || v === null) return;
  if (Array.isArray(v)) {
    for (const item of v) renderValue(name, item, out);
    return;
  }
  if (typeof v === 'object') {
    const attrs = v.$ && typeof v.$ === 'object' ? Object.entries(v.$).map(([k, a]) => ` ${k}="${escapeXml(String(a))}"`).join('') : '';
    out.push(`<${name}${attrs}>`);
    for (const [k, child] of Object.entries(v)) if (k !== '$') renderValue(k, child, out);
    out.push(`</${name}>`);
    return;
  }
  out.push(`<${name}>${escapeXml(String(v))}</${name}>`);
}

/** Renders a success body: the root element in S3's namespace. */
export function renderXml(root: string, body: XmlNode, namespace = true): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>\n', namespace ? `<${root} xmlns="${S3_NS}">` : `<${root}>`];
  for (const [k, v] of Object.entries(body)) renderValue(k, v, out);
  out.push(`</${root}>`);
  return out.join('');
}

const MAX_DEPTH = 32;

/**
 * Parses a request body as XML, refusing what could cost unbounded work or leak files: DTDs and
 * entity declarations, and nesting deeper than any S3 body needs. Malformed input is MalformedXML.
 */
export async function parseXml(text: string): Promise<Record<string, unknown>> {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new GatewayError('MalformedXML');
  let depth = 0;
  // xml2js accepts (and reads the first of) several root elements; a document has exactly one.
  let roots = 0;
  const re = /<(\/?)[^>]*?(\/?)>/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[0].startsWith('<?') || m[0].startsWith('<!')) continue;
    if (m[1]) depth--;
    else {
      if (depth === 0) roots++;
      if (!m[2]) depth++;
    }
    if (depth > MAX_DEPTH || roots > 1) throw new GatewayError('MalformedXML');
  }
  try {
    const doc = await parseStringPromise(text, { explicitArray: true, explicitRoot: true, tagNameProcessors: [stripNs], attrNameProcessors: [stripNs], strict: true });
    if (!doc || typeof doc !== 'object') throw new Error('empty');
    return doc as Record<string, unknown>;
  } catch {
    throw new GatewayError('MalformedXML');
  }
}

function stripNs(name: string): string {
  const i = name.indexOf(':');
  return i >= 0 ? name.slice(i + 1) : name;
}

/** The text of the first child element `name` of a parsed element (xml2js shape), if any. */
export function childText(el: unknown, name: string): string | undefined {
  const v = (el as Record<string, unknown[]> | undefined)?.[name]?.[0];
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && '_' in v) return String((v as { _: unknown })._);
  return '';
}

/** The texts of every child element `name` of a parsed element (xml2js shape), trimmed. */
export function childTexts(el: unknown, name: string): string[] {
  return children(el, name).map((v) => (typeof v === 'string' ? v : typeof v === 'object' && v !== null && '_' in v ? String((v as { _: unknown })._) : '').trim());
}

/** The child elements `name` of a parsed element (xml2js shape). */
export function children(el: unknown, name: string): unknown[] {
  const v = (el as Record<string, unknown[]> | undefined)?.[name];
  return Array.isArray(v) ? v : [];
}

/** The root element `name` of a parsed document, MalformedXML when the document has another root. */
export function rootElement(doc: Record<string, unknown>, name: string): unknown {
  const el = doc[name];
  if (el === undefined || el === null) throw new GatewayError('MalformedXML');
  return typeof el === 'string' ? {} : el;
}

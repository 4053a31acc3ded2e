/**
 * RFC 6901 JSON Pointer evaluation, used to read a delivery's idempotency key (Stripe's
 * `/id`) or correlation value out of a parsed body.
 *
 * Written here rather than taken from npm. `jsonpointer` 5.0.1 and `json-ptr` 3.1.1
 * both resolve inherited JavaScript members that are not JSON members (`/constructor`
 * gives Object, `/items/length` gives the array's length) and `jsonpointer` throws on a
 * scalar or null document; `@hyperjump/json-pointer` is ESM-only while this repo builds
 * CommonJS. Evaluation over own properties only is a dozen lines.
 */

const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/;

/**
 * Splits a pointer into its unescaped reference tokens. Throws on a syntax error
 * (no leading '/', or '~' not followed by 0 or 1): that is a configuration mistake,
 * so the config layer can call this once at boot and never at request time.
 */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) {
    throw new SyntaxError(
      `JSON pointer ${JSON.stringify(pointer)} must be empty or start with "/"`,
    );
  }
  return pointer
    .slice(1)
    .split('/')
    .map((token) => {
      if (/~(?![01])/.test(token)) {
        throw new SyntaxError(
          `JSON pointer ${JSON.stringify(pointer)} has a "~" not followed by 0 or 1`,
        );
      }
      // '~1' first, then '~0', so '~01' becomes '~1' and not '/' (RFC 6901 §4).
      return token.replace(/~1/g, '/').replace(/~0/g, '~');
    });
}

/**
 * The value `pointer` refers to in `doc` ('' is the whole document), or undefined when
 * nothing is there. Array tokens must be canonical indices ('0', '12'; never '01');
 * '-' (the element after the last) is always absent.
 */
export function readPointer(doc: unknown, pointer: string): unknown {
  let current: unknown = doc;
  for (const token of parsePointer(pointer)) {
    if (Array.isArray(current)) {
      if (!ARRAY_INDEX.test(token)) return undefined;
      const index = Number(token);
      if (index >= current.length) return undefined;
      current = current[index] as unknown;
    } else if (typeof current === 'object' && current !== null) {
      if (!Object.hasOwn(current, token)) return undefined;
      current = (current as Record<string, unknown>)[token];
    } else {
      return undefined;
    }
  }
  return current;
}

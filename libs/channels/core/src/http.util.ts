import { ErrorCode, WorkgateError } from '@app/core';

/** Strict UTF-8: invalid byte sequences are an error, never silently U+FFFD. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new WorkgateError(ErrorCode.MalformedBody, 'The body is not valid UTF-8.');
  }
}

/** Parses a JSON body strictly (UTF-8, syntax) into a 400 with the parser's words. */
export function parseJsonBody(bytes: Uint8Array): unknown {
  const text = decodeUtf8(bytes);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new WorkgateError(
      ErrorCode.MalformedBody,
      `The body is not valid JSON: ${(err as Error).message}`,
    );
  }
}

export function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** application/json, or any application/*+json type, with or without parameters. */
export function isJsonContentType(contentType: string | string[] | undefined): boolean {
  const type = firstHeader(contentType)?.split(';')[0]?.trim().toLowerCase();
  return type === 'application/json' || (!!type && /^application\/[a-z0-9.+-]+\+json$/.test(type));
}

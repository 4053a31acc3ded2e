import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import type { VerifyFailureCode, VerifyInput, VerifyResult } from './webhook-scheme';

export type VerifyFailure = Extract<VerifyResult, { ok: false }>;

export function fail(code: VerifyFailureCode, detail: string): VerifyFailure {
  return { ok: false, code, detail };
}

export type HeaderRead =
  { kind: 'absent' } | { kind: 'single'; value: string } | { kind: 'repeated'; count: number };

/**
 * Reads one header. Node lower-cases names, but a hand-built map (tests, the CLI) may
 * not, so other spellings are looked at too. A header sent several times is reported as
 * such rather than picked from: which copy was signed is not ours to guess.
 */
export function readHeader(headers: VerifyInput['headers'], name: string): HeaderRead {
  const lower = name.toLowerCase();
  const values: string[] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== lower || value === undefined) continue;
    if (Array.isArray(value)) values.push(...value);
    else values.push(value);
  }
  const [first] = values;
  if (first === undefined) return { kind: 'absent' };
  if (values.length > 1) return { kind: 'repeated', count: values.length };
  return { kind: 'single', value: first };
}

/**
 * The bytes of a header value as they arrived. Node decodes header bytes as latin1, so
 * encoding back with latin1 (not UTF-8) restores the sender's exact bytes, which are
 * what the sender signed when a signed header (webhook-id) is part of the MAC input.
 */
export function headerBytes(value: string): Buffer {
  return Buffer.from(value, 'latin1');
}

// createHmac() with raw key bytes prepares a key on every call (about 11 µs here); a
// KeyObject made once is about 2 µs. Keys are the configured secrets, so few; the bound
// only keeps callers that sign with throwaway secrets (tests, the CLI) from growing it.
const KEY_OBJECTS = new Map<string, KeyObject>();
const MAX_KEY_OBJECTS = 64;

function keyObject(key: Buffer): KeyObject {
  const id = key.toString('latin1');
  let object = KEY_OBJECTS.get(id);
  if (!object) {
    if (KEY_OBJECTS.size >= MAX_KEY_OBJECTS) KEY_OBJECTS.clear();
    object = createSecretKey(key);
    KEY_OBJECTS.set(id, object);
  }
  return object;
}

export function hmacSha256(key: Buffer, ...parts: Buffer[]): Buffer {
  // An empty key is legal for HMAC but not for createSecretKey().
  const mac = createHmac('sha256', key.length ? keyObject(key) : key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/**
 * True when any provided signature equals any expected one. Every pair is compared in
 * constant time and the loop never stops early, so the time taken says nothing about
 * which secret or which entry came close. A length mismatch is a plain non-match: the
 * expected length (32 bytes) is public, so skipping timingSafeEqual there leaks nothing.
 */
export function matchesAny(expected: readonly Buffer[], provided: readonly Buffer[]): boolean {
  let matched = false;
  for (const want of expected) {
    for (const got of provided) {
      const equal = want.length === got.length && timingSafeEqual(want, got);
      matched = matched || equal;
    }
  }
  return matched;
}

const HEX = /^(?:[0-9a-fA-F]{2})+$/;
// Canonical padded base64 (standard alphabet). Buffer.from(..., 'base64') alone would
// silently skip garbage characters and decode whatever is left.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function decodeHex(text: string): Buffer | undefined {
  return HEX.test(text) ? Buffer.from(text, 'hex') : undefined;
}

export function decodeBase64(text: string): Buffer | undefined {
  return text !== '' && BASE64.test(text) ? Buffer.from(text, 'base64') : undefined;
}

/** Unix seconds written as plain decimal digits (no sign, no fraction, no exponent). */
export function parseUnixSeconds(text: string): number | undefined {
  return /^[0-9]{1,15}$/.test(text) ? Number(text) : undefined;
}

/** The replay window, applied in both directions so a far-future timestamp cannot stay valid for long. */
export function checkTolerance(
  label: string,
  timestamp: number,
  input: Pick<VerifyInput, 'nowSeconds' | 'toleranceSeconds'>,
): VerifyFailure | undefined {
  const age = input.nowSeconds - timestamp;
  if (Math.abs(age) <= input.toleranceSeconds) return undefined;
  const distance =
    age > 0
      ? `${age} s older than now (${input.nowSeconds})`
      : `${-age} s ahead of now (${input.nowSeconds})`;
  return fail(
    'timestamp_out_of_tolerance',
    `${label} ${timestamp} is ${distance}; the tolerance is ${input.toleranceSeconds} s`,
  );
}

/** Quotes sender-controlled text for a detail message, cut short so a huge header cannot flood logs. */
export function quote(text: string, max = 48): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}

export function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : nouns}`;
}

import { createHmac, timingSafeEqual } from 'node:crypto';
import { type ButtonPress, ErrorCode, WorkgateError } from '@app/core';

/**
 * What a button carries: which wait it answers (or which work a routing question
 * names) and which choice was pressed, signed with a server secret so a forged
 * callback cannot answer anything. Compact, because Telegram allows 64 bytes of
 * callback_data: 16 bytes of uuid, 1 byte kind, 1 byte choice, 10 bytes of HMAC →
 * 38 base64url characters.
 *
 * Written here rather than with a JWT library: a JWT for the same claims is several
 * hundred bytes and would not fit.
 */
export type ButtonToken = ButtonPress;

const KIND = { answer: 1, pick: 2 } as const;
const MAC_BYTES = 10;

function uuidBytes(id: string): Buffer {
  const hex = id.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error(`not a uuid: ${id}`);
  return Buffer.from(hex, 'hex');
}

function uuidString(bytes: Buffer): string {
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function mac(secret: string, body: Buffer): Buffer {
  return createHmac('sha256', secret).update(body).digest().subarray(0, MAC_BYTES);
}

export function signButtonToken(token: ButtonToken, secret: string): string {
  // Never sign without a key (callers pass `secrets[0]!`, undefined when none is
  // provisioned): an HMAC keyed with '' is one anybody can compute.
  if (!secret) {
    throw new WorkgateError(
      ErrorCode.Configuration,
      'No button secret: set chat.buttonSecrets or WORKGATE_BUTTON_SECRET, or start through createGateway/createWorker, which keep one in the ledger.',
    );
  }
  if (!Number.isInteger(token.choice) || token.choice < 0 || token.choice > 255)
    throw new Error('choice must be 0..255');
  const id = token.kind === 'answer' ? token.waitId : token.workId;
  const body = Buffer.concat([uuidBytes(id), Buffer.from([KIND[token.kind], token.choice])]);
  return Buffer.concat([body, mac(secret, body)]).toString('base64url');
}

/** The token, or null when it is malformed or its signature does not match any secret. */
export function verifyButtonToken(text: string, secrets: string[]): ButtonToken | null {
  if (!/^[A-Za-z0-9_-]{38}$/.test(text)) return null;
  const raw = Buffer.from(text, 'base64url');
  if (raw.length !== 18 + MAC_BYTES) return null;
  const body = raw.subarray(0, 18);
  const given = raw.subarray(18);
  // Every secret is tried (rotation); each comparison is constant-time.
  const ok = secrets.map((s) => timingSafeEqual(mac(s, body), given)).some(Boolean);
  if (!ok) return null;
  const id = uuidString(body.subarray(0, 16));
  const choice = body[17]!;
  switch (body[16]) {
    case KIND.answer:
      return { kind: 'answer', waitId: id, choice };
    case KIND.pick:
      return { kind: 'pick', workId: id, choice };
    default:
      return null;
  }
}

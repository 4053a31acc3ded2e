import { z } from 'zod';
import { parseDurationMs } from '@app/core';
import { parseByteSize } from './byte-size.util';

/** A size: `256kb`, `1mb`, or a number of bytes. */
export const byteSize = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const bytes = parseByteSize(v);
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a size: ${String(v)} (use e.g. 256kb, 1mb)` });
    return z.NEVER;
  }
  return bytes;
});

/** A duration: `500ms`, `30s`, `5m`, `2h`, `1d`, compounds such as `1h30m`, or milliseconds. */
export const durationMs = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseDurationMs(v);
  if (ms === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `not a duration: ${String(v)} (use e.g. 500ms, 30s, 5m, 2h, 1d)`,
    });
    return z.NEVER;
  }
  return ms;
});

import { randomBytes, randomFillSync } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { type IdGenerator, uuidv7 } from '@app/core';

/** Random bytes for this many ids are drawn at once (as crypto.randomUUID() does). */
const POOLED_IDS = 256;

@Injectable()
export class CryptoIdGenerator implements IdGenerator {
  // Two ids per ingested event: one getrandom() call and one allocation each showed in
  // the gateway's profile; drawing 2.5 KiB at a time makes them a subarray.
  private readonly pool = Buffer.alloc(10 * POOLED_IDS);
  private next = POOLED_IDS;

  uuid(): string {
    if (this.next === POOLED_IDS) {
      randomFillSync(this.pool);
      this.next = 0;
    }
    const offset = 10 * this.next++;
    return uuidv7(Date.now(), this.pool.subarray(offset, offset + 10));
  }

  random(): number {
    // 48 random bits: uniform in [0, 1) with more resolution than any backoff needs.
    return randomBytes(6).readUIntBE(0, 6) / 2 ** 48;
  }
}

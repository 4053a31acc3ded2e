import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { type IdGenerator, uuidv7 } from '@app/core';

@Injectable()
export class CryptoIdGenerator implements IdGenerator {
  uuid(): string {
    return uuidv7(Date.now(), randomBytes(10));
  }

  random(): number {
    // 48 random bits: uniform in [0, 1) with more resolution than any backoff needs.
    return randomBytes(6).readUIntBE(0, 6) / 2 ** 48;
  }
}

import { Injectable } from '@nestjs/common';
import { type Clock } from '@app/core';

@Injectable()
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
}

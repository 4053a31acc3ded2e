import { type InboundEventInput, WorkgateError } from '@app/core';
import { assertStorableEvent, conversationLocks } from './ingest-event.util';

const nested = (levels: number): unknown =>
  JSON.parse('['.repeat(levels) + '1' + ']'.repeat(levels)) as unknown;

function webhookEvent(doc: unknown): InboundEventInput {
  return {
    channel: 'webhook',
    source: 'deploys',
    externalId: 'deploys:1',
    conversationKey: null,
    correlationKey: null,
    actor: { id: 'webhook:deploys' },
    raw: doc,
    body: { source: 'deploys', payload: doc },
    answer: doc,
    reference: null,
    command: null,
    route: { openKind: 'deploy', busyPolicy: 'inbox', collectWindowMs: 0 },
  };
}

describe(assertStorableEvent.name, () => {
  it('takes a body a channel accepted at 128 levels, inside its one wrapper', () => {
    expect(() => assertStorableEvent(webhookEvent(nested(128)))).not.toThrow();
  });

  it('refuses a column nesting past the wrapper (an API start of 129 levels)', () => {
    const event = { ...webhookEvent(null), raw: { kind: 'deploy', input: nested(129) } };
    expect(() => assertStorableEvent(event)).toThrow(WorkgateError);
    expect(() => assertStorableEvent(event)).toThrow(/event's raw holds nesting deeper/);
  });

  it('refuses what jsonb cannot hold in any column, naming it', () => {
    const event = { ...webhookEvent(null), actor: { id: 'x\u0000' } };
    expect(() => assertStorableEvent(event)).toThrow(/event's actor holds a NUL character/);
  });
});

describe(conversationLocks.name, () => {
  it('sorts the conversation and correlation keys, without duplicates', () => {
    const event = { ...webhookEvent(null), conversationKey: 'webhook:b', correlationKey: 'a' };
    expect(conversationLocks(event)).toEqual(['corr:a', 'webhook:b']);
  });
});

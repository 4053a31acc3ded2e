import { batchedStepId, batchedStepIdentity } from './batched-step.util';

describe(batchedStepId.name, () => {
  const work = '01a24550-9e23-7c2a-975f-988b0259aa0e';

  it('is the same for the same work, epoch and position: a crash re-run gets the same key', () => {
    expect(batchedStepId(work, 0, 3)).toBe(batchedStepId(work, 0, 3));
    expect(batchedStepIdentity(work, 0, 3)).toEqual(batchedStepIdentity(work, 0, 3));
  });

  it('is new for another position, epoch (a rewound position) or work', () => {
    const ids = new Set([
      batchedStepId(work, 0, 3),
      batchedStepId(work, 0, 4),
      batchedStepId(work, 1, 3),
      batchedStepId('01a24550-9e98-7379-b7ef-baa0dc0ef145', 0, 3),
    ]);
    expect(ids.size).toBe(4);
  });

  it('is a UUID of version 8 and the RFC 4122 variant, with the key in the step shape', () => {
    const { id, idempotencyKey } = batchedStepIdentity(work, 2, 7);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(idempotencyKey).toBe(`${work}:7:${id}`);
  });
});

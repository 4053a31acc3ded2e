import { EXIT } from '../exit-codes';
import { ApiError, exitCodeFor } from './api-client';

describe(exitCodeFor.name, () => {
  it.each([
    [400, EXIT.failed],
    [401, EXIT.auth],
    [403, EXIT.auth],
    [404, EXIT.notFound],
    [409, EXIT.conflict],
    [413, EXIT.failed],
    [500, EXIT.unavailable],
    [503, EXIT.unavailable],
  ])('maps HTTP %i to exit %i', (status, code) => {
    expect(exitCodeFor(status)).toBe(code);
  });

  it('describes a problem with its current state and each validation error', () => {
    const err = new ApiError({
      status: 409,
      title: 'Conflict',
      detail: 'cannot pause a COMPLETED work',
      currentState: 'COMPLETED',
      errors: [{ path: 'fromStep', message: 'Too small' }],
    });
    expect(err.exitCode).toBe(EXIT.conflict);
    expect(err.message).toBe(
      '409 Conflict: cannot pause a COMPLETED work\ncurrent state: COMPLETED\n  fromStep: Too small',
    );
  });
});

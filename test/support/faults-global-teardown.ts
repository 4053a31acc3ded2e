import { disposableServices } from './services';

/** Stops and deletes the fault project's own PostgreSQL and Redis (faults-global-setup.ts). */
export default function faultsGlobalTeardown(): void {
  const { postgres, redis } = disposableServices();
  postgres.destroy();
  redis.destroy();
}

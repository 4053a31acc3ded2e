export { SkippingClock } from './skipping-clock';
export {
  createTestEnv,
  type TestEnv,
  type TestEnvOptions,
  type TestEvent,
  type WorkResult,
} from './test-env';

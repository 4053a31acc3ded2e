export * from './workgate-client';
export type { components, operations, paths } from './api-types.gen';

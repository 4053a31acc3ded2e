export * from './worker.module';
export * from './worker.app';
export * from './agent-media';

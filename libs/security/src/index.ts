export * from './button-token';
export * from './button-secrets';

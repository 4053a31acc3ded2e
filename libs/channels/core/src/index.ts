export * from './body-policy';
export * from './storable-json.util';
export * from './http.util';
export * from './wait-token';
export * from './channel-adapter.port';
export * from './button-secrets';

export * from './body-policy';
export * from './storable-json.util';
export * from './http.util';
export * from './channel-adapter.port';
export * from './download.util';
export * from './outbound-file.util';

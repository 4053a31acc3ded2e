export * from './schemes';
export * from './webhook.module';
export * from './webhook.service';
export * from './outbound/http.sender';
export * from './webhook.adapter';

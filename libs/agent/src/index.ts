export * from './assistant.workflow';
export * from './builtin-tools';
export * from './conversation.util';
export * from './openai-model.client';
export * from './openai-responses-model.client';
export * from './pricing.util';
export * from './tool';

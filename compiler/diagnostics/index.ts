export * from './source.ts';
export * from './diagnostic.ts';
export * from './messages.ts';
export * from './format.ts';

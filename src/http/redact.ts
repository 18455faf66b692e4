export * from '../redact.js';

/**
 * Version of the plugin contract. A plugin states the version it implements, so a host can refuse a plugin
 * written against a contract it does not understand instead of failing somewhere deep inside a run.
 */
export type SpecificationVersion = 'medssl/v1';

export const SPECIFICATION_VERSION: SpecificationVersion = 'medssl/v1';

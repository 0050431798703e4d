export { pneumonia, pneumoniaInfo } from './pneumonia.js';
export type { PneumoniaOptions, PneumoniaSplit } from './pneumonia.js';

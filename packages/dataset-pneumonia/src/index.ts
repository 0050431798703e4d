export { pneumonia, pneumoniaInfo, pneumoniaProvider } from './pneumonia.js';
export type { PneumoniaOptions, PneumoniaSplit } from './pneumonia.js';

// The report renderer: results documents → one self-contained HTML page. Browser-safe (no Node built-ins);
// the `report` command does the file reading and writing.
export { readResultsDocument, ResultsDocumentError, EVAL_FORMAT, FUSION_FORMAT, RUN_FORMAT } from './documents.js';
export type { AttentionBlock, ReportTask, ResultRow, ResultsDocument, SummaryEntry, MetricSummaryEntry } from './documents.js';
export { renderReport, type ReportOptions } from './render.js';
export { escapeHtml } from './html.js';

// The report renderer: results documents → one self-contained HTML page. Browser-safe (no Node built-ins);
// the `report` command does the file reading and writing.
export { readResultsDocument, ResultsDocumentError, EVAL_FORMAT, FUSION_FORMAT, RUN_FORMAT } from './documents.js';
export type { AttentionBlock, ReportPretraining, ReportTask, ResultRow, ResultsDocument, SummaryEntry, MetricSummaryEntry } from './documents.js';
export { domainComparisons, pretrainingGroup, pretrainingGroupLabel, PRETRAINING_GROUPS } from './pretraining.js';
export type { DomainComparison, DomainVerdict, PretrainingGroup } from './pretraining.js';
export type { PretrainingLookup } from './model.js';
export { renderReport, type ReportOptions } from './render.js';
export { escapeHtml } from './html.js';
export { readTransferabilityDocuments, transferabilityAgreement, TRANSFERABILITY_DOCUMENT_FORMAT } from './transferability.js';
export type { EstimatorAgreement, TransferabilityAgreement, TransferabilityDocument } from './transferability.js';

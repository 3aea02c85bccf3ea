export { KeenErrors, BODY_ERRORS, WRITE_ERRORS } from './keen-errors';
export { KeenOperation, KEY_HEADER_SCHEME, KEY_QUERY_SCHEME } from './keen-operation';
export { AnalysisParam, CollectionParam, JobParam, ProjectParam, PropertyParam } from './path-parameters';
export {
  BeaconQueryParameters,
  EventSelectionQuery,
  ExtractionQueryParameters,
  KeenQueryParameters,
} from './query-parameters';
export { JsonBody } from './json-body';
export { DeleteJobAcceptedResponse } from './delete-job-accepted';
export { ref, SCHEMAS } from './schemas';

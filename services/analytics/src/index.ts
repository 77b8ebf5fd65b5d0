export {
  type BadRecord,
  type ParsedRecord,
  parseRecord,
  type RejectReason,
  TABLES,
} from './records.ts';

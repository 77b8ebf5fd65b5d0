export { filterInputOf, parseData, senderHeaders } from './filter-input.ts';
export {
  type CompiledFilter,
  compileFilter,
  DEFAULT_FILTER_BUDGET,
  type FilterBudget,
  FilterCache,
  type FilterInput,
  type FilterResult,
  MAX_FILTER_PATTERN_PROGRAM,
} from './filters.ts';

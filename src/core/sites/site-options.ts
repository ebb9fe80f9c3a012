import { addFieldError, type FieldErrors } from '../../errors/app-error.js';
import { applyUnits, canonicalParam, coerceParam, SERVICES, splitParamName } from './site.params.js';
import { type SiteOptions } from './site.schema.js';

// Options and values

export interface ParamValue {
  service: string;
  param: string;
  value: unknown;
  /** The value given means "the plan's value": the site's own is dropped. */
  inherit?: boolean;
}

/**
 * Flattens the three spellings of options into `service.param = value` triples, validated, with
 * values given with their unit converted to MB (the unit itself is not kept).
 */
export function parseOptions(raw: unknown, fields: FieldErrors, where = 'opts'): ParamValue[] {
  if (raw === undefined || raw === null) return [];
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    if (Array.isArray(raw) && raw.length === 0) return [];
    addFieldError(fields, where, 'must be a map of service.param: value');
    return [];
  }
  const out: ParamValue[] = [];
  for (const [key, value] of Object.entries(raw as SiteOptions)) {
    const split = splitParamName(key);
    if (split) {
      out.push({ service: split[0], param: split[1], value });
      continue;
    }
    const service = key.toLowerCase();
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(SERVICES, service)) {
      for (const [param, v] of Object.entries(value as Record<string, unknown>)) out.push({ service, param: param.toLowerCase(), value: v });
      continue;
    }
    addFieldError(fields, key, Object.hasOwn(SERVICES, service) ? `${service}: give parameters as ${service},param=value` : `${key}: unknown service`);
  }
  const checked: ParamValue[] = [];
  for (const p of out) {
    const r = coerceParam(p.service, p.param, p.value);
    const [service, param] = canonicalParam(p.service, p.param);
    if (r.ok) checked.push({ service, param, value: r.value, ...(r.inherit ? { inherit: true } : {}) });
    else addFieldError(fields, `${p.service}.${p.param}`, r.message);
  }
  const converted = applyUnits(checked);
  for (const e of converted.errors) addFieldError(fields, e.key, e.message);
  return converted.values;
}

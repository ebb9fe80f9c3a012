import { describe, expect, it } from 'vitest';
import { addedFeatures } from '../../src/core/packages/package.service.js';
import type { Feature, Package } from '../../src/core/packages/package.schema.js';
import { formatCents } from '../../src/facades/hsp-rest/hsp.serializers.js';

const f = (id: number): Feature => ({ id, code: null, name: `F${id}`, blurb: '', description: '', position: id });
const pkg = (id: number, features: Feature[]): Package => ({
  id,
  uid: `p${id}`,
  name: `P${id}`,
  description: '',
  position: id,
  free_trial_days: 0,
  tags: [],
  limits: {},
  domain_cost_cents: 0,
  mailbox_cost_cents: 0,
  parent_id: null,
  parent_uid: null,
  features,
  service_defaults: {},
  dbname_template: null,
  max_databases: null,
  addons: [],
  node_label: null,
  template_database: null,
});

describe('addedFeatures', () => {
  it('the first package adds all of its features; later ones what the previous one lacks', () => {
    const list = [pkg(1, [f(1), f(10)]), pkg(2, [f(1), f(2), f(3), f(10)]), pkg(3, [f(1), f(2), f(3), f(5), f(10)])];
    expect(addedFeatures(list).map((a) => a.map((x) => x.id))).toEqual([[1, 10], [2, 3], [5]]);
  });

  it('compares with the previous package only, not with all earlier ones', () => {
    const list = [pkg(1, [f(1), f(2)]), pkg(2, [f(3)]), pkg(3, [f(1), f(3)])];
    expect(addedFeatures(list).map((a) => a.map((x) => x.id))).toEqual([[1, 2], [3], [1]]);
  });

  it('handles empty lists and featureless packages', () => {
    expect(addedFeatures([])).toEqual([]);
    expect(addedFeatures([pkg(1, []), pkg(2, [f(1)])]).map((a) => a.map((x) => x.id))).toEqual([[], [1]]);
  });
});

describe('formatCents', () => {
  it.each([
    [0, '$0.00'],
    [5, '$0.05'],
    [50, '$0.50'],
    [100, '$1.00'],
    [125, '$1.25'],
    [123456, '$1234.56'],
  ])('%i → %s', (cents, text) => {
    expect(formatCents(cents)).toBe(text);
  });
});

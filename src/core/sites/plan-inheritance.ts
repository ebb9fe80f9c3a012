import { AppError } from '../../errors/app-error.js';
import { type Ctx } from '../context.js';
import { BASE_PLAN_DEFAULTS, SERVICES } from './site.params.js';
import { loadPlans, planChain } from './site.plans.js';
import type { PlanRecord } from './site.repository.js';
import { requireOperator } from './site-targets.js';

// Plan inheritance, as the packages editor shows it

export interface InheritedValue {
  service: string;
  param: string;
  help: string;
  value: unknown;
  /** The plan that sets the value (this plan or an ancestor), or "base" for the built-in skeleton; null when nothing does. */
  source: string | null;
  own: boolean;
  /** What the value would be without this plan's own setting: from its ancestors or the base. */
  inherited: { value: unknown; source: string | null };
}

export interface PlanInheritance {
  plan: string;
  /** The plan and its ancestors, nearest first. */
  chain: string[];
  values: InheritedValue[];
}

export async function getPlanInheritance(ctx: Ctx, uid: string): Promise<PlanInheritance> {
  requireOperator(ctx);
  const book = await loadPlans(ctx);
  const plan = book.byUid.get(uid);
  if (!plan) throw AppError.notFound('package');
  const chain = planChain(book, plan.id);
  const values: InheritedValue[] = [];
  for (const [service, params] of Object.entries(SERVICES)) {
    for (const [param, spec] of Object.entries(params)) {
      if (spec.store !== 'meta' || spec.sameAs || spec.secret) continue;
      const values_ = (p: PlanRecord) => (p.service_defaults?.[service] ?? undefined) as Record<string, unknown> | undefined;
      const base = BASE_PLAN_DEFAULTS[service] && Object.hasOwn(BASE_PLAN_DEFAULTS[service]!, param);
      const resolve = (plans: PlanRecord[]) => {
        const from = plans.find((p) => {
          const d = values_(p);
          return d !== undefined && d !== null && typeof d === 'object' && Object.hasOwn(d, param);
        });
        return { from, value: from ? values_(from)![param] : base ? BASE_PLAN_DEFAULTS[service]![param] : null, source: from ? from.uid : base ? 'base' : null };
      };
      const here = resolve(chain);
      const above = resolve(chain.slice(1));
      values.push({ service, param, help: spec.help, value: here.value, source: here.source, own: here.from?.id === plan.id, inherited: { value: above.value, source: above.source } });
    }
  }
  return { plan: plan.uid, chain: chain.map((p) => p.uid), values };
}

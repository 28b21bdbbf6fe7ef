/**
 * Where the time goes: self time by category, npm package, owner and function, and a small JSON summary of it.
 */
import { CATEGORIES, CATEGORY_ORDER, packageRule, type Category } from './categories.js';
import { FrameClassifier, type ClassifyOptions, type FrameClass, type Owner } from './classify.js';
import type { CallFrame, Profile, ProfileNode } from './profile.js';

export interface FunctionCost {
  /** V8's function name; `(anonymous)` when it has none. */
  name: string;
  category: Category;
  package: string | null;
  owner: Owner | null;
  url: string;
  /** 1-based; null when V8 does not know it (natives). */
  line: number | null;
  location: string;
  selfMs: number;
  /** Of busy (non-idle) time; null for idle frames. */
  percentOfBusy: number | null;
}

export interface CategoryCost {
  category: Category;
  label: string;
  selfMs: number;
  percentOfBusy: number | null;
  /** The category's costliest functions by self time. */
  topFunctions: FunctionCost[];
}

export interface PackageCost {
  package: string;
  /** The package's rule in PACKAGE_RULES (`caller`: charged to its callers' categories); `other` when unlisted. */
  rule: Category | 'caller';
  selfMs: number;
  percentOfBusy: number;
}

export interface OwnerCost {
  owner: Owner;
  selfMs: number;
  percentOfBusy: number;
}

export interface ProfileAnalysis {
  /** Sampled time: every sample's duration, first sample to the end of the profile. */
  totalMs: number;
  /** totalMs minus (idle): the CPU time percentages are taken of. */
  busyMs: number;
  idleMs: number;
  window: { startUs: number; endUs: number; durationMs: number };
  sampleCount: number;
  sampleIntervalMs: number;
  /** Every category, in CATEGORY_ORDER, zero ones included. */
  categories: CategoryCost[];
  /** By self time, descending. npm packages and the project's workspace folders; Node.js and V8 frames have none. */
  packages: PackageCost[];
  owners: OwnerCost[];
  /** Every function with self time, descending; one entry per function (V8 splits them by call path). */
  functions: FunctionCost[];
}

export interface AnalyzeOptions extends ClassifyOptions {
  /** Functions listed per category. Default 10. */
  topFunctions?: number;
}

/** Classifies every node of the profile, callers before callees. */
export function classifyProfile(profile: Profile, options: ClassifyOptions = {}): Map<ProfileNode, FrameClass> {
  const classifier = new FrameClassifier(options);
  const classes = new Map<ProfileNode, FrameClass>();
  const stack: ProfileNode[] = [profile.root];
  while (stack.length) {
    const node = stack.pop()!;
    classes.set(node, classifier.classify(node.callFrame, node.parent ? classes.get(node.parent)! : null));
    stack.push(...node.children);
  }
  return classes;
}

export const functionName = (frame: CallFrame): string => frame.functionName || '(anonymous)';

const percentOf = (part: number, whole: number) => (whole > 0 ? (part / whole) * 100 : 0);

export function analyzeProfile(profile: Profile, options: AnalyzeOptions = {}): ProfileAnalysis {
  const classes = classifyProfile(profile, options);
  const topN = options.topFunctions ?? 10;

  const byCategory = new Map<Category, number>();
  const byPackage = new Map<string, { us: number; rule: Category | 'caller' }>();
  const byOwner = new Map<Owner, number>();
  const byFunction = new Map<string, { frame: CallFrame; cls: FrameClass; us: number }>();
  for (const node of profile.nodes) {
    if (node.selfUs === 0) continue;
    const cls = classes.get(node)!;
    const us = node.selfUs;
    byCategory.set(cls.category, (byCategory.get(cls.category) ?? 0) + us);
    if (cls.package) {
      const entry = byPackage.get(cls.package);
      if (entry) entry.us += us;
      else byPackage.set(cls.package, { us, rule: packageRule(cls.package)?.category ?? (cls.owner === 'stackbench' ? 'app' : 'other') });
    }
    if (cls.owner && cls.category !== 'idle') byOwner.set(cls.owner, (byOwner.get(cls.owner) ?? 0) + us);
    const f = node.callFrame;
    // Natives have no URL: keep `writev` under net apart from `writev` under fs.
    const key = [f.functionName, f.url, f.lineNumber, f.columnNumber, cls.category, cls.package].join('\u0000');
    const entry = byFunction.get(key);
    if (entry) entry.us += us;
    else byFunction.set(key, { frame: f, cls, us });
  }

  const idleUs = byCategory.get('idle') ?? 0;
  const busyUs = profile.totalUs - idleUs;
  const ms = (us: number) => us / 1000;
  const busyPercent = (us: number) => percentOf(us, busyUs);

  const functions: FunctionCost[] = [...byFunction.values()]
    .sort((a, b) => b.us - a.us)
    .map(({ frame, cls, us }) => ({
      name: functionName(frame),
      category: cls.category,
      package: cls.package,
      owner: cls.owner,
      url: frame.url,
      line: frame.lineNumber >= 0 ? frame.lineNumber + 1 : null,
      location: cls.location,
      selfMs: ms(us),
      percentOfBusy: cls.category === 'idle' ? null : busyPercent(us),
    }));

  const categories: CategoryCost[] = CATEGORY_ORDER.map((category) => {
    const us = byCategory.get(category) ?? 0;
    return {
      category,
      label: CATEGORIES[category].label,
      selfMs: ms(us),
      percentOfBusy: category === 'idle' ? null : busyPercent(us),
      topFunctions: functions.filter((f) => f.category === category).slice(0, topN),
    };
  });

  const packages: PackageCost[] = [...byPackage.entries()]
    .sort((a, b) => b[1].us - a[1].us)
    .map(([name, { us, rule }]) => ({ package: name, rule, selfMs: ms(us), percentOfBusy: busyPercent(us) }));

  const owners: OwnerCost[] = [...byOwner.entries()]
    .filter(([, us]) => us > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([owner, us]) => ({ owner, selfMs: ms(us), percentOfBusy: busyPercent(us) }));

  return {
    totalMs: ms(profile.totalUs),
    busyMs: ms(busyUs),
    idleMs: ms(idleUs),
    window: { ...profile.window, durationMs: ms(profile.window.endUs - profile.window.startUs) },
    sampleCount: profile.sampleCount,
    sampleIntervalMs: ms(profile.sampleIntervalUs),
    categories,
    packages,
    owners,
    functions,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Summary for results.json

/** The analysis's totals (rounded); its window is on the profiled process's monotonic clock, in microseconds. */
export interface ProfileSummary extends Pick<ProfileAnalysis, 'totalMs' | 'busyMs' | 'idleMs' | 'window' | 'sampleCount' | 'sampleIntervalMs'> {
  categories: Array<{
    category: Category;
    ms: number;
    /** Of busy time; null for idle. */
    percent: number | null;
    topFunctions: Array<{ name: string; package: string | null; location: string; ms: number; percent: number | null }>;
  }>;
  owners: Array<{ owner: Owner; ms: number; percent: number }>;
  packages: Array<{ package: string; rule: Category | 'caller'; ms: number; percent: number }>;
}

export interface SummaryOptions extends AnalyzeOptions {
  /** Packages kept. Default 15. */
  topPackages?: number;
}

const round1 = (v: number) => Math.round(v * 10) / 10;
const round1OrNull = (v: number | null) => (v === null ? null : round1(v));

/** A small JSON-serializable digest of analyzeProfile: milliseconds and percentages to 0.1, top 5 functions per category. */
export function profileSummary(profile: Profile, options: SummaryOptions = {}): ProfileSummary {
  const a = analyzeProfile(profile, { topFunctions: 5, ...options });
  return {
    totalMs: round1(a.totalMs),
    busyMs: round1(a.busyMs),
    idleMs: round1(a.idleMs),
    window: { startUs: a.window.startUs, endUs: a.window.endUs, durationMs: round1(a.window.durationMs) },
    sampleCount: a.sampleCount,
    sampleIntervalMs: Math.round(a.sampleIntervalMs * 1000) / 1000,
    categories: a.categories.map((c) => ({
      category: c.category,
      ms: round1(c.selfMs),
      percent: round1OrNull(c.percentOfBusy),
      topFunctions: c.topFunctions.map((f) => ({
        name: f.name,
        package: f.package,
        location: f.location,
        ms: round1(f.selfMs),
        percent: round1OrNull(f.percentOfBusy),
      })),
    })),
    owners: a.owners.map((o) => ({ owner: o.owner, ms: round1(o.selfMs), percent: round1(o.percentOfBusy) })),
    packages: a.packages
      .slice(0, options.topPackages ?? 15)
      .map((p) => ({ package: p.package, rule: p.rule, ms: round1(p.selfMs), percent: round1(p.percentOfBusy) })),
  };
}

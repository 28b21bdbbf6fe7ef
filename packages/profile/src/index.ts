export { readProfile, readProfileFile, ProfileFormatError, type Profile, type ProfileNode, type CallFrame, type CpuProfileJson } from './profile.js';
export {
  CATEGORIES,
  CATEGORY_ORDER,
  PACKAGE_RULES,
  NODE_HTTP_MODULES,
  NODE_SOCKET_MODULES,
  PSEUDO_FRAMES,
  packageRule,
  type Category,
  type CategoryInfo,
  type PackageRule,
  type Product,
} from './categories.js';
export { FrameClassifier, placeOf, DEFAULT_APP_ROOTS, type ClassifyOptions, type FrameClass, type Owner, type Place } from './classify.js';
export {
  analyzeProfile,
  classifyProfile,
  profileSummary,
  type AnalyzeOptions,
  type ProfileAnalysis,
  type CategoryCost,
  type PackageCost,
  type OwnerCost,
  type FunctionCost,
  type ProfileSummary,
  type SummaryOptions,
} from './analyze.js';
export { buildFlameGraph, renderFlameGraphSvg, flameGraphSvg, type FlameGraph, type FlameFrame, type FlameGraphOptions } from './flamegraph.js';
export { escapeXml } from './xml.js';

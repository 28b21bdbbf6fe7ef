/** Injection tokens of the lab's providers (a file of their own: store.module.ts and lab.module.ts both use them). */
export const LAB = Symbol('stackbench.lab');
export const LAB_CACHE = Symbol('stackbench.labCache');
export const WORK_POOL = Symbol('stackbench.workPool');
export const LAB_UPSTREAM = Symbol('stackbench.labUpstream');

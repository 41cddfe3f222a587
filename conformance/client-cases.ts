import type { Case, ClientCtx } from './case';

/** Client mode: written in another branch; this placeholder keeps this one building. */
export const clientCases: Case<ClientCtx>[] = [];

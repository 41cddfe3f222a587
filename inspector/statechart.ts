/**
 * The statechart the inspector page draws, read from the machine definition itself (its state
 * nodes and transitions), so a state or transition added to the machine appears in the picture
 * without anyone redrawing it.
 */
import type { AnyStateMachine } from 'xstate';

export interface ChartNode {
  /** Full id, e.g. "session.streaming.liveness.alive". */
  id: string;
  /** Last path segment, e.g. "alive". */
  key: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  initial: boolean;
  children: ChartNode[];
}

export interface ChartEdge {
  source: string;
  target: string;
  /** "DISCONNECTED [guard]", "after heartbeatTimeout", "always". */
  label: string;
}

export interface Chart {
  root: ChartNode;
  edges: ChartEdge[];
}

interface StateNodeLike {
  id: string;
  key: string;
  type: ChartNode['type'];
  states: Record<string, StateNodeLike>;
  initial?: { target: StateNodeLike[] };
  transitions: Map<string, { target?: StateNodeLike[]; guard?: unknown; reenter?: boolean }[]>;
  always?: { target?: StateNodeLike[]; guard?: unknown }[];
}

function label(eventType: string, guarded: boolean): string {
  const base = eventType.startsWith('xstate.after.') ? `after ${eventType.split('.')[2]}` : eventType;
  return guarded ? `${base} [guard]` : base;
}

export function chartOf(machine: AnyStateMachine): Chart {
  const edges: ChartEdge[] = [];
  const visit = (n: StateNodeLike, initial: boolean): ChartNode => {
    for (const [eventType, list] of n.transitions) {
      for (const t of list) for (const target of t.target ?? []) edges.push({ source: n.id, target: target.id, label: label(eventType, Boolean(t.guard)) });
    }
    for (const t of n.always ?? []) for (const target of t.target ?? []) edges.push({ source: n.id, target: target.id, label: label('always', Boolean(t.guard)) });
    const initialIds = new Set((n.initial?.target ?? []).map((s) => s.id));
    return {
      id: n.id,
      key: n.key,
      type: n.type,
      initial,
      // Every region of a parallel state is active at once: all count as initial.
      children: Object.values(n.states).map((c) => visit(c, n.type === 'parallel' || initialIds.has(c.id))),
    };
  };
  const root = visit(machine.root as unknown as StateNodeLike, true);
  return { root, edges };
}

/**
 * The resident session actors: one root actor per session in a map.
 *
 * Sessions are deliberately not children of one parent actor: spawning and stopping many
 * children of a single actor is quadratic in XState (issue #4990), while independent root
 * actors cost the same whether there are ten or twenty thousand.
 *
 * An actor is resident while something can happen to its session that only the machine
 * watches. The session runtime retires it while the session streams (the pacer watches that)
 * and restores it from its context at the next lifecycle event; see SessionRuntime.settle.
 */
import { createActor, type Actor, type ActorOptions, type InspectionEvent, type SnapshotFrom } from 'xstate';

type Clock = NonNullable<ActorOptions<SessionMachine>['clock']>;
import type { SessionContext, SessionEvent, SessionInput, SessionMachine } from '../../machines/session.machine';

export type SessionActor = Actor<SessionMachine>;
export type SessionSnapshot = SnapshotFrom<SessionMachine>;

export interface RegistryOptions {
  /** XState clock for the `after` timers; a SimulatedClock in tests. */
  clock?: Clock;
  /** Inspection observer (the local inspector, @statelyai/inspect), attached to every actor. */
  inspect?: (event: InspectionEvent) => void;
}

export class SessionRegistry {
  private readonly actors = new Map<string, SessionActor>();

  constructor(
    readonly machine: SessionMachine,
    private readonly options: RegistryOptions = {},
  ) {}

  /** An inspector watches every actor: it keys rows by XState's per-actor session id, so a restored actor would be a new row. */
  get inspected(): boolean {
    return this.options.inspect !== undefined;
  }

  /** Resident actors (a passive session has none). */
  get size(): number {
    return this.actors.size;
  }

  get(id: string): SessionActor | undefined {
    return this.actors.get(id);
  }

  ids(): IterableIterator<string> {
    return this.actors.keys();
  }

  /** Creates and starts the session's actor; it leaves the map by itself when it reaches a final state. */
  start(input: SessionInput): SessionActor {
    return this.run(input.id, { input });
  }

  /**
   * Brings a retired session's actor back in `value` with `context`, as a stored snapshot would
   * be restored: no entry action runs again, and no `after` timer is restored (the caller arms
   * what it needs).
   */
  restore(context: SessionContext, value: SessionSnapshot['value']): SessionActor {
    const snapshot = { status: 'active', value, context, children: {}, historyValue: {}, output: undefined, error: undefined };
    // The input is not read when a snapshot is given; XState's types ask for one all the same.
    return this.run(context.id, { input: context, snapshot: snapshot as unknown as SessionSnapshot });
  }

  /** Stops a session's actor that has not ended (its session lives on without it): no action runs. */
  retire(actor: SessionActor): void {
    this.release(actor.id, actor);
  }

  /**
   * Sends to the session's resident actor, if it has one. The server sends through its session
   * runtime instead, which restores a passive session's actor first; this is for driving the
   * registry on its own (tests, the inspector's).
   */
  send(id: string, event: SessionEvent): boolean {
    const actor = this.actors.get(id);
    if (!actor) return false;
    actor.send(event);
    return true;
  }

  /** Stops every actor (server shutdown); pending `after` timers are cancelled with them. */
  stopAll(): void {
    for (const [id, actor] of [...this.actors]) this.release(id, actor);
  }

  private run(id: string, from: { input: SessionInput; snapshot?: SessionSnapshot }): SessionActor {
    if (this.actors.has(id)) throw new Error(`session ${id} already has an actor`);
    const actor = createActor(this.machine, {
      ...from,
      id,
      ...(this.options.clock ? { clock: this.options.clock } : {}),
      ...(this.options.inspect ? { inspect: this.options.inspect } : {}),
    });
    this.actors.set(id, actor);
    actor.subscribe({
      complete: () => this.release(id, actor),
      error: () => this.release(id, actor),
    });
    actor.start();
    return actor;
  }

  private release(id: string, actor: SessionActor): void {
    if (this.actors.get(id) === actor) this.actors.delete(id);
    actor.stop();
  }
}

/**
 * The live session actors: one root actor per session in a map.
 *
 * Sessions are deliberately not children of one parent actor: spawning and stopping many
 * children of a single actor is quadratic in XState (issue #4990), while independent root
 * actors cost the same whether there are ten or twenty thousand.
 */
import { createActor, type Actor, type ActorOptions, type InspectionEvent } from 'xstate';

type Clock = NonNullable<ActorOptions<SessionMachine>['clock']>;
import type { SessionEvent, SessionInput, SessionMachine } from '../../machines/session.machine';

export type SessionActor = Actor<SessionMachine>;

export interface RegistryOptions {
  /** XState clock for the `after` timers; a SimulatedClock in tests. */
  clock?: Clock;
  /** Inspection observer (the local inspector, @statelyai/inspect), attached to every actor. */
  inspect?: (event: InspectionEvent) => void;
}

export class SessionRegistry {
  private readonly actors = new Map<string, SessionActor>();

  constructor(
    private readonly machine: SessionMachine,
    private readonly options: RegistryOptions = {},
  ) {}

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
    if (this.actors.has(input.id)) throw new Error(`session ${input.id} already has an actor`);
    const actor = createActor(this.machine, {
      input,
      id: input.id,
      ...(this.options.clock ? { clock: this.options.clock } : {}),
      ...(this.options.inspect ? { inspect: this.options.inspect } : {}),
    });
    this.actors.set(input.id, actor);
    actor.subscribe({
      complete: () => this.release(input.id, actor),
      error: () => this.release(input.id, actor),
    });
    actor.start();
    return actor;
  }

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

  private release(id: string, actor: SessionActor): void {
    if (this.actors.get(id) === actor) this.actors.delete(id);
    actor.stop();
  }
}

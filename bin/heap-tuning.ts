/**
 * V8 heap tuning for the server process, applied before anything else is loaded.
 *
 * Allocation-site pretenuring off. V8 watches each allocation site and, when nearly everything
 * it made survived a young-generation GC, allocates that site's objects straight in the old
 * generation from then on. A ramp of new sessions (thousands a second, each with its socket,
 * connection and record, which all live on) makes V8 tenure sites whose later objects die at
 * once (the session actor's transient objects among them); those fill the old generation with
 * garbage that only a full GC reclaims, and the heap V8 commits for it stays in the process's
 * RSS long after (measured at 10,000 sessions: old space 62–72 MiB used with pretenuring,
 * 31 MiB without; RSS 161–168 MiB against 147). The sessions' own objects are young for one or
 * two scavenges more, which costs nothing measurable (docs/BENCHMARKS.md).
 *
 * Node documents flags set at run time as unpredictable in general; this one is read by the
 * GC at each scavenge (V8's Heap::ProcessPretenuringFeedback) and set before the first session.
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--no-allocation-site-pretenuring');

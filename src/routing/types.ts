// Records shared by the routing modules.

/** One candidate preference pair: a prompt and two responses. */
export interface RoutingPair {
  id: string;
  prompt: string;
  responseA: string;
  responseB: string;
  /** Any other columns of the input row (used by the `column` tagger, kept on export). */
  extra?: Record<string, unknown>;
}

/** A preference label: A better, B better, or a tie. */
export type Preference = 'A' | 'B' | 'tie';

/** Where a pair is sent. */
export type Route = 'human' | 'ai';

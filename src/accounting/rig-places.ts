/**
 * The bound on rig labels (issue 21): each label a miner sends makes series that live for --metrics.rigTtl,
 * so without a bound one miner with unique rig names grows /metrics and memory without end. Pure.
 */

/** Where the rigs of a user beyond --metrics.maxRigsPerUser are accounted. A real rig named so shares it. */
export const OVERFLOW_RIG = 'other';

/** Longest rig label kept: longer ones are cut here (a hostname's DNS label is at most 63). */
export const MAX_RIG_LABEL_LENGTH = 64;

/** The label cut to MAX_RIG_LABEL_LENGTH, never inside a surrogate pair (which would not survive as UTF-8). */
export function trimRigLabel(label: string): string {
  if (label.length <= MAX_RIG_LABEL_LENGTH) return label;
  const high = label.charCodeAt(MAX_RIG_LABEL_LENGTH - 1);
  return label.slice(0, high >= 0xd800 && high <= 0xdbff ? MAX_RIG_LABEL_LENGTH - 1 : MAX_RIG_LABEL_LENGTH);
}

export interface RigPlace {
  /** The rig label to account under: the trimmed label, or OVERFLOW_RIG. */
  readonly label: string;
  /** The rig found no place (a rig named OVERFLOW_RIG itself does not overflow). */
  readonly overflowed: boolean;
}

interface UserPlaces {
  /** Rig label -> how many rig groups (one per algorithm and pool) hold its place. */
  readonly labels: Map<string, number>;
  /** The overflow was logged for this user (once while it holds places). */
  warned: boolean;
}

/**
 * The rig labels each user holds a place for, at most `maxPerUser`. A place is taken when the first series
 * group of a label is made (`hold`) and freed when the last one goes (`release`, by the rig TTL sweep).
 */
export class RigPlaces {
  private readonly users = new Map<string, UserPlaces>();

  constructor(private readonly maxPerUser: number) {}

  /** Where a worker's rig (or, without one, its IP) is accounted; decides nothing until `hold`. */
  place(user: string, rig: string): RigPlace {
    const label = trimRigLabel(rig);
    const places = this.users.get(user);
    if (label === OVERFLOW_RIG || !places || places.labels.has(label) || places.labels.size < this.maxPerUser)
      return { label, overflowed: false };
    return { label: OVERFLOW_RIG, overflowed: true };
  }

  /** A series group of this label was made. */
  hold(user: string, label: string): void {
    if (label === OVERFLOW_RIG) return;
    let places = this.users.get(user);
    if (!places) this.users.set(user, (places = { labels: new Map(), warned: false }));
    places.labels.set(label, (places.labels.get(label) ?? 0) + 1);
  }

  /** A series group of this label went: the last one frees its place. */
  release(user: string, label: string): void {
    const places = this.users.get(user);
    const held = places?.labels.get(label);
    if (!places || held === undefined) return;
    if (held > 1) places.labels.set(label, held - 1);
    else places.labels.delete(label);
    if (places.labels.size === 0) this.users.delete(user);
  }

  /** True the first time a user overflows (again only after all its places were freed): log it then. */
  firstOverflow(user: string): boolean {
    const places = this.users.get(user);
    if (!places || places.warned) return false;
    places.warned = true;
    return true;
  }

  /** Labels holding a place for this user. */
  held(user: string): number {
    return this.users.get(user)?.labels.size ?? 0;
  }
}

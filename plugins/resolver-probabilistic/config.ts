import { z } from 'zod';

/**
 * The probabilistic resolver's settings (YAML), declared once: the TypeScript
 * type is inferred from this schema.
 */

export const COMPARISON_KINDS = ['exact', 'jaro-winkler', 'date', 'postcode', 'tokens', 'email-local', 'phone-last'] as const;
export type ComparisonKind = (typeof COMPARISON_KINDS)[number];

export const comparisonSchema = z
  .object({
    /** Shown in explanations; defaults to the trait path. */
    name: z.string().min(1).optional(),
    /** Dotted trait path, e.g. `firstName` or `address.postcode`. */
    trait: z.string().min(1),
    kind: z.enum(COMPARISON_KINDS),
    /** Jaro-Winkler similarity floors, highest first, for `jaro-winkler` (one level each). */
    thresholds: z.array(z.number().gt(0).lt(1)).min(1).default([0.92, 0.8]),
    /** How many trailing digits `phone-last` compares. */
    digits: z.number().int().min(3).max(15).default(7),
    /** Adjust an exact agreement by how common the value is (a shared "smith" counts for less). */
    termFrequency: z.boolean().default(false),
  })
  .strict()
  .refine((c) => c.thresholds.every((t, i) => i === 0 || t < c.thresholds[i - 1]), {
    message: 'thresholds must be in decreasing order',
    path: ['thresholds'],
  });
export type ComparisonConfig = z.infer<typeof comparisonSchema>;

export const BLOCKING_TRANSFORMS = ['exact', 'metaphone', 'prefix', 'year'] as const;

export const blockingPartSchema = z.union([
  z.string().min(1).transform((trait) => ({ trait, transform: 'exact' as const, length: 3 })),
  z
    .object({
      trait: z.string().min(1),
      transform: z.enum(BLOCKING_TRANSFORMS).default('exact'),
      /** Characters kept by `prefix`. */
      length: z.number().int().min(1).max(20).default(3),
    })
    .strict(),
]);
export type BlockingPart = z.infer<typeof blockingPartSchema>;

export const blockingRuleSchema = z
  .object({
    name: z.string().min(1),
    /** Records are candidates when every part agrees (AND); rules are OR-ed. */
    on: z.array(blockingPartSchema).min(1, 'a blocking rule needs at least one part: an empty rule would compare every record with every other'),
  })
  .strict();
export type BlockingRule = z.infer<typeof blockingRuleSchema>;

export const probabilisticSchema = z
  .object({
    comparisons: z.array(comparisonSchema).min(1),
    blocking: z.array(blockingRuleSchema).min(1),
    /** Links at or above this match probability join profiles. */
    matchThreshold: z.number().gt(0).lt(1).default(0.95),
    /** Links between this and matchThreshold are kept for review, never applied. */
    reviewThreshold: z.number().gt(0).lt(1).default(0.5),
    /** A rule whose blocks would produce more candidate pairs than this is refused. */
    maxPairs: z.number().int().positive().default(20_000_000),
    /** Stored records fetched per blocking key for an incremental batch (most recent first). */
    candidatesPerKey: z.number().int().min(1).default(100),
    /** Random pairs drawn to estimate u (the chance of agreement between different people). */
    randomPairs: z.number().int().min(1000).default(300_000),
    em: z
      .object({
        maxIterations: z.number().int().min(1).default(100),
        tolerance: z.number().positive().default(1e-5),
        /** Starting guess of the share of candidate pairs that are matches. */
        initialMatchShare: z.number().gt(0).lt(1).default(0.1),
      })
      .strict()
      .prefault({}),
    /**
     * Two clusters joined by links from fewer than this share of the smaller
     * cluster's records stay apart (curbs chaining through one weak link).
     */
    linkSupport: z.number().gt(0).max(1).default(0.5),
    /** Identifier types (or `external_id:namespace`) whose differing values may be joined by a probabilistic link. */
    allowConflicting: z.array(z.string()).default([]),
    /**
     * Given-name guard on links (the one the deterministic resolver applies to
     * household phones): two clusters whose records name different given names
     * (not a typo, alias, initial or swap of each other) never join, however much
     * else agrees. Twins and households share a family name, an address and a
     * landline, and twins a date of birth: only the given name tells them apart.
     * `false` turns it off.
     */
    nameGuard: z
      .union([
        z.literal(false),
        z
          .object({
            traits: z.array(z.string().min(1)).min(1).default(['firstName', 'fullName', 'name']),
            familyTraits: z.array(z.string().min(1)).default(['lastName', 'familyName', 'surname']),
            /** A record or profile with no given name links to nothing probabilistically: at a household's address it could be anyone there. */
            requireGivenName: z.boolean().default(true),
            /** The two records of a link must also agree on the family name when both carry one (typos and swaps allowed): two records swapped alike meet on the family name read as given. */
            familyMustAgree: z.boolean().default(true),
          })
          .strict(),
      ])
      .prefault({}),
  })
  .strict()
  .refine((c) => c.reviewThreshold <= c.matchThreshold, { message: 'reviewThreshold must not exceed matchThreshold', path: ['reviewThreshold'] });
export type ProbabilisticConfig = z.infer<typeof probabilisticSchema>;

export function comparisonName(c: ComparisonConfig): string {
  return c.name ?? c.trait;
}

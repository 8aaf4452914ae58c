/**
 * inversify service identifiers. Each Symbol shares its name with the interface it
 * stands for (STYLE.md §4); constructors take them through explicit `@inject`.
 */
export const TOKENS = {
  LoadedConfig: Symbol.for('tributary.LoadedConfig'),
  ProfileStore: Symbol.for('tributary.ProfileStore'),
  Logger: Symbol.for('tributary.Logger'),
  PluginRegistry: Symbol.for('tributary.PluginRegistry'),
  SourceConnector: Symbol.for('tributary.SourceConnector'),
  DestinationConnector: Symbol.for('tributary.DestinationConnector'),
  Resolver: Symbol.for('tributary.Resolver'),
  Transform: Symbol.for('tributary.Transform'),
  Engine: Symbol.for('tributary.Engine'),
  Clock: Symbol.for('tributary.Clock'),
} as const;

export interface Clock {
  now(): Date;
  /** Wait (retry backoff, rate budgets). Tests pass a fake clock whose sleep advances `now`. */
  sleep?(ms: number, signal?: AbortSignal): Promise<void>;
}

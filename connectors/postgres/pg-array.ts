/**
 * PostgreSQL's text form of an array (`{1,2,NULL}`, `{{"a b","c\"d"},{e,f}}`,
 * `[0:1]={x,y}`) as nested JS arrays of element text (null for NULL). Elements
 * stay text: the caller converts them with the element type's converter.
 *
 * Arrays of every element type use `,` as delimiter except `box`, which uses `;`.
 */
export type PgArray = Array<string | null | PgArray>;

export function parsePgArray(text: string, delimiter = ','): PgArray {
  let i = 0;
  // Explicit bounds (`[0:1]={...}`) only change the index base, which JS arrays do not have.
  if (text[0] === '[') {
    const eq = text.indexOf('=');
    if (eq < 0) throw new Error(`not an array literal: ${text.slice(0, 40)}`);
    i = eq + 1;
  }

  const parseLevel = (): PgArray => {
    if (text[i] !== '{') throw new Error(`not an array literal at ${i}: ${text.slice(0, 40)}`);
    i++;
    const out: PgArray = [];
    if (text[i] === '}') {
      i++;
      return out;
    }
    for (;;) {
      if (text[i] === '{') {
        out.push(parseLevel());
      } else if (text[i] === '"') {
        i++;
        let s = '';
        while (i < text.length && text[i] !== '"') {
          if (text[i] === '\\') i++;
          s += text[i++];
        }
        if (text[i] !== '"') throw new Error('unterminated quoted element in array literal');
        i++;
        out.push(s);
      } else {
        const start = i;
        while (i < text.length && text[i] !== delimiter && text[i] !== '}') i++;
        const raw = text.slice(start, i).trim();
        out.push(raw.toUpperCase() === 'NULL' ? null : raw);
      }
      if (text[i] === delimiter) {
        i++;
        continue;
      }
      if (text[i] === '}') {
        i++;
        return out;
      }
      throw new Error(`unexpected character in array literal at ${i}: ${text.slice(0, 40)}`);
    }
  };

  const result = parseLevel();
  if (i !== text.length) throw new Error(`trailing text after array literal: ${text.slice(i, i + 20)}`);
  return result;
}

/** Apply `convert` to every non-null element, at any depth. */
export function mapPgArray(arr: PgArray, convert: (element: string) => unknown): unknown[] {
  return arr.map((e) => (e === null ? null : typeof e === 'string' ? convert(e) : mapPgArray(e, convert)));
}

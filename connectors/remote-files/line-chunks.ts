import { StringDecoder } from 'node:string_decoder';

/**
 * Bytes from a socket cut into text chunks made of whole physical lines, with
 * the byte offset where each line starts remembered until the reader says it
 * is consumed. That is what lets a checkpoint name a byte offset (SFTP read
 * offset, FTP REST) instead of "after N rows", so a resumed file is not
 * downloaded again from its first byte. Only byte-transparent encodings are
 * allowed (UTF-8, Latin-1, ASCII): a 0x0A byte is then always a line feed.
 */
export type ByteEncoding = 'utf8' | 'latin1' | 'ascii';

export class LineChunks {
  private readonly starts = new Map<number, number>();
  /** The physical line the bytes read so far end on. */
  lastLine: number;

  /**
   * @param firstLine the physical line number the bytes start on (1 at offset 0)
   * @param firstOffset the byte offset of the first byte
   */
  constructor(
    private readonly firstLine: number,
    private readonly firstOffset: number,
  ) {
    this.lastLine = firstLine;
  }

  /** Byte offset where `line` starts, when it is still remembered. */
  startOf(line: number): number | undefined {
    return this.starts.get(line);
  }

  /** Lines before `line` are consumed: their offsets are dropped (bounds memory). */
  forget(line: number): void {
    for (const k of this.starts.keys()) {
      if (k >= line) break;
      this.starts.delete(k);
    }
  }

  /**
   * Decoded text of `bytes`, chunk by chunk (a character split across chunks is
   * held back by the decoder); the start of every line is noted before its text
   * is handed on. A leading UTF-8 byte order mark at offset 0 is dropped.
   */
  async *text(bytes: AsyncIterable<Buffer>, encoding: ByteEncoding): AsyncGenerator<string> {
    const decoder = new StringDecoder(encoding);
    let line = this.firstLine;
    let offset = this.firstOffset;
    this.starts.set(line, offset);
    let bomPending = offset === 0 && encoding === 'utf8';
    for await (const chunk of bytes) {
      for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) this.starts.set(++line, offset + i + 1);
      this.lastLine = line;
      offset += chunk.length;
      let text = decoder.write(chunk);
      if (bomPending && text.length > 0) {
        bomPending = false;
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      }
      if (text) yield text;
    }
    const rest = decoder.end();
    if (rest) yield rest;
  }
}

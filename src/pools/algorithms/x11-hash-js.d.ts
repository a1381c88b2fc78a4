declare module '@dashevo/x11-hash-js' {
  /** inputFormat/outputFormat: 0 string, 1 byte array or Buffer, 2 32-bit words. */
  export function digest(input: string | Buffer | number[], inputFormat?: 0 | 1 | 2, outputFormat?: 0 | 1 | 2): string | number[];
  const x11: { digest: typeof digest };
  export default x11;
}

/** What a server offered in its EHLO/LHLO reply (RFC 5321 4.1.1.1), parsed by ./extensions.ts. */

export interface Capabilities {
  /** Keywords as advertised, upper-cased, in order. */
  readonly keywords: readonly string[];
  readonly size: number | null;
  readonly pipelining: boolean;
  readonly chunking: boolean;
  readonly eightBitMime: boolean;
  readonly binaryMime: boolean;
  readonly smtpUtf8: boolean;
  readonly dsn: boolean;
  readonly enhancedStatusCodes: boolean;
  readonly starttls: boolean;
  readonly authMechanisms: readonly string[];
  /** Keywords not listed above, verbatim with their parameters. */
  readonly other: readonly string[];
}

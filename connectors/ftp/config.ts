import { z } from 'zod';
import { remoteFileOptions } from '../remote-files/config.js';

/** Connector config of the `ftp` source (plain FTP, explicit FTPS, implicit FTPS). */
export const ftpConfigSchema = z.strictObject({
  host: z.string().min(1).describe('FTP server host name or address.'),
  port: z.number().int().min(1).max(65535).optional().describe('Control port; 21 by default, 990 for `secure: implicit`.'),
  username: z.string().min(1).default('anonymous').describe('FTP user.'),
  password: z.string().optional().describe('Password (a secret; use an environment variable).'),
  secure: z
    .union([z.boolean(), z.literal('implicit')])
    .default(false)
    .describe('false: plain FTP. true: explicit FTPS (`AUTH TLS` on the control port, data connections in TLS too). implicit: TLS from the first byte (port 990).'),
  caFile: z.string().min(1).optional().describe('PEM file of the certificate authority (or the self-signed server certificate) to trust for FTPS.'),
  rejectUnauthorized: z
    .boolean()
    .default(true)
    .describe('false accepts any server certificate (no protection against a man in the middle); logged as a warning on every connect.'),
  servername: z.string().min(1).optional().describe('Name the server certificate must carry, when it is not `host` (e.g. connecting by IP address).'),
  connectTimeoutMs: z.number().int().min(100).default(15000).describe('Time allowed for connecting, TLS and login, and for any server answer.'),
  ...remoteFileOptions,
});
export type FtpConfig = z.infer<typeof ftpConfigSchema>;

export const FTP_SECRETS = ['password'];

export function ftpPort(config: Pick<FtpConfig, 'port' | 'secure'>): number {
  return config.port ?? (config.secure === 'implicit' ? 990 : 21);
}

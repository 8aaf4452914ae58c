import { z } from 'zod';
import { remoteFileOptions } from '../remote-files/config.js';

/** OpenSSH's fingerprint format: `SHA256:` and 43 base64 characters without padding. */
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** Connector config of the `sftp` source. */
export const sftpConfigSchema = z
  .strictObject({
    host: z.string().min(1).describe('SSH server host name or address.'),
    port: z.number().int().min(1).max(65535).default(22).describe('SSH port.'),
    username: z.string().min(1).describe('SSH user.'),
    password: z.string().min(1).optional().describe('Password (a secret; use an environment variable).'),
    privateKey: z.string().min(1).optional().describe('Private key in OpenSSH or PEM format (a secret).'),
    passphrase: z.string().min(1).optional().describe('Passphrase of an encrypted private key (a secret).'),
    hostKey: z
      .string()
      .regex(FINGERPRINT, 'expected the server host key fingerprint as `ssh-keygen -lf` prints it, e.g. SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU')
      .describe('Pinned SHA-256 fingerprint of the server host key; any other key is refused.'),
    connectTimeoutMs: z.number().int().min(100).default(15000).describe('Time allowed for the SSH handshake and login.'),
    ...remoteFileOptions,
  })
  .refine((c) => c.password !== undefined || c.privateKey !== undefined, { message: 'expected password or privateKey', path: ['password'] });
export type SftpConfig = z.infer<typeof sftpConfigSchema>;

export const SFTP_SECRETS = ['password', 'privateKey', 'passphrase'];

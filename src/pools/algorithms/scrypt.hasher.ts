import { scrypt } from 'node:crypto';
import type { ShareHasher } from './share-hasher.js';

const PARAMETERS = { N: 1024, r: 1, p: 1, maxmem: 32 * 1024 * 1024 };

/** Litecoin's scrypt(N=1024, r=1, p=1) with the header as password and salt; asynchronous (libuv's pool). */
export const scryptHasher: ShareHasher = {
  name: 'scrypt',
  hash: (header) =>
    new Promise((resolve, reject) => scrypt(header, header, 32, PARAMETERS, (error, key) => (error ? reject(error) : resolve(key)))),
};

/**
 * Node-only parts of dcr-client (`import { FileStore, nodeDeviceInfo } from
 * 'dcr-client/node'`): a credential file and device info from the `os` module.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs, constants } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { DeviceInfo, encodeDeviceInfo, nodeProcessDeviceInfo } from './device.js';
import { DcrError } from './errors.js';
import { CredentialStore, Credentials, parseCredentials } from './store.js';

/**
 * A JSON file with mode 0600, replaced atomically: each save writes a new temporary
 * file beside it, created exclusively (so neither an existing file's looser mode nor
 * a planted symlink is ever used), syncs it, then renames it over the old one. A file
 * that is not credentials is reported (`corrupt_store`), never silently replaced.
 */
export class FileStore implements CredentialStore {
  constructor(private readonly file: string) {}

  async load(): Promise<Credentials | null> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new DcrError('corrupt_store', `cannot read ${this.file}: ${String(e)}`, { cause: e });
    }
    return parseCredentials(text);
  }

  async save(credentials: Credentials | null): Promise<void> {
    if (credentials === null) {
      await fs.rm(this.file, { force: true });
      return;
    }
    const dir = path.dirname(this.file);
    const tmp = path.join(dir, `.${path.basename(this.file)}.${randomBytes(8).toString('hex')}.tmp`);
    const handle = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o600);
    try {
      await handle.writeFile(JSON.stringify(credentials, null, 2));
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await fs.rename(tmp, this.file);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
    }
  }
}

/** `X-Device-Info` for a Node process, with the `os` details. */
export function nodeDeviceInfo(overrides: DeviceInfo = {}): string {
  return encodeDeviceInfo({
    ...nodeProcessDeviceInfo(),
    osVersion: os.release(),
    model: `${os.arch()} ${os.cpus()[0]?.model ?? ''}`.trim(),
    ...overrides,
  });
}

export * from './index.js';

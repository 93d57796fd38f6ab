/**
 * dcr-client: the JavaScript SDK for apps that call a programmer's APIs through dcr
 * (browsers, Tizen and webOS web runtimes, React Native, Node). Zero dependencies:
 * it uses the platform's `fetch`.
 *
 * ```js
 * import { DcrClient, LocalStorageStore } from 'dcr-client';
 * const dcr = new DcrClient({ baseUrl: 'https://dcr.example.com', softwareStatement, store: new LocalStorageStore() });
 * const response = await dcr.fetch('https://api.example.com/v2/ACMETV/configuration');
 * ```
 */
export { DcrClient } from './client.js';
export type { Binding, Clock, DcrClientOptions } from './client.js';
export { IndexedDbKeyStore, MemoryKeyStore, dpopProof, clientAssertion, thumbprint } from './pop.js';
export type { InstallKey, KeyStore } from './pop.js';
export { DcrError } from './errors.js';
export type { LocalErrorCode } from './errors.js';
export { LocalStorageStore, MemoryStore, checkCredentials, parseCredentials } from './store.js';
export type { CachedToken, CredentialStore, Credentials } from './store.js';
export { base64, browserDeviceInfo, deviceInfo, encodeDeviceInfo, nodeProcessDeviceInfo } from './device.js';
export type { DeviceInfo } from './device.js';

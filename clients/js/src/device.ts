/**
 * `X-Device-Info`: base64 of a JSON object describing the device (the server derives
 * the platform from it). {@link deviceInfo} builds one from what the runtime tells:
 * `navigator` and `screen` in browsers and TV web runtimes, `process` in Node (the
 * `dcr-client/node` entry point adds the `os` details). Pass your own object to
 * {@link encodeDeviceInfo} when you know better (a native shell, a TV's model name).
 */

/** The members the server understands (all optional). */
export interface DeviceInfo {
  primaryHardwareType?: string;
  model?: string;
  manufacturer?: string;
  vendor?: string;
  version?: string;
  osName?: string;
  osFamily?: string;
  osVendor?: string;
  osVersion?: string;
  browserName?: string;
  browserVendor?: string;
  browserVersion?: string;
  userAgent?: string;
  displayWidth?: number;
  displayHeight?: number;
  displayPpi?: number;
  diagonalScreenSize?: string;
  connectionSecure?: string;
  connectionType?: string;
  applicationId?: string;
  [other: string]: string | number | undefined;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 of UTF-8 bytes, without relying on `btoa` or `Buffer`. */
export function base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += BASE64[(n >> 18) & 63] + BASE64[(n >> 12) & 63];
    out += i + 1 < bytes.length ? BASE64[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.length ? BASE64[n & 63] : '=';
  }
  return out;
}

/** The header value for `info`: base64 of its JSON, without empty members. */
export function encodeDeviceInfo(info: DeviceInfo): string {
  const clean: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(info)) {
    if (v !== undefined && v !== '') clean[k] = v;
  }
  return base64(JSON.stringify(clean));
}

interface UserAgentData {
  platform?: string;
  mobile?: boolean;
  brands?: { brand: string; version: string }[];
}

/** What the browser (or TV web runtime) tells about itself. */
export function browserDeviceInfo(): DeviceInfo {
  const nav = typeof navigator !== 'undefined' ? navigator : undefined;
  const ua = nav?.userAgent ?? '';
  const data = (nav as unknown as { userAgentData?: UserAgentData } | undefined)?.userAgentData;
  const info: DeviceInfo = { userAgent: ua.slice(0, 500) };
  const platform = data?.platform || ua;
  if (/Tizen/i.test(ua)) {
    Object.assign(info, { primaryHardwareType: 'TV', osFamily: 'Tizen', osVendor: 'Samsung' });
  } else if (/Web0S|webOS/i.test(ua)) {
    Object.assign(info, { primaryHardwareType: 'TV', osName: 'webOS', osFamily: 'webOS', osVendor: 'LG' });
  } else if (/AFT[A-Z0-9]|Silk/.test(ua)) {
    Object.assign(info, { primaryHardwareType: 'MediaPlayer', osName: 'Android', osFamily: 'Android', osVendor: 'Amazon' });
  } else if (/Android/i.test(platform)) {
    Object.assign(info, {
      primaryHardwareType: data?.mobile || /Mobile/.test(ua) ? 'MobilePhone' : 'Tablet',
      osName: 'Android', osFamily: 'Android', osVendor: 'Google',
    });
  } else if (/iPhone|iPad|iPod|iOS/i.test(platform)) {
    Object.assign(info, {
      primaryHardwareType: /iPad/.test(ua) ? 'Tablet' : 'MobilePhone',
      osName: 'iOS', osFamily: 'iOS', osVendor: 'Apple',
    });
  } else if (/Mac/i.test(platform)) {
    Object.assign(info, { primaryHardwareType: 'Desktop', osName: 'Mac OS', osFamily: 'macOS', osVendor: 'Apple' });
  } else if (/Win/i.test(platform)) {
    Object.assign(info, { primaryHardwareType: 'Desktop', osName: 'Windows', osFamily: 'Windows', osVendor: 'Microsoft' });
  } else if (/CrOS|Chrome OS/i.test(platform)) {
    Object.assign(info, { primaryHardwareType: 'Desktop', osName: 'Chrome OS', osFamily: 'Linux', osVendor: 'Google' });
  } else if (/Linux/i.test(platform)) {
    Object.assign(info, { primaryHardwareType: 'Desktop', osName: 'Linux', osFamily: 'Linux' });
  }
  const edge = /Edg\/([\d.]+)/.exec(ua);
  const chrome = /Chrome\/([\d.]+)/.exec(ua);
  const firefox = /Firefox\/([\d.]+)/.exec(ua);
  const safari = /Version\/([\d.]+).*Safari/.exec(ua);
  if (edge) Object.assign(info, { browserName: 'Edge', browserVendor: 'Microsoft', browserVersion: edge[1] });
  else if (chrome) Object.assign(info, { browserName: 'Chrome', browserVendor: 'Google', browserVersion: chrome[1] });
  else if (firefox) Object.assign(info, { browserName: 'Firefox', browserVendor: 'Mozilla', browserVersion: firefox[1] });
  else if (safari) Object.assign(info, { browserName: 'Safari', browserVendor: 'Apple', browserVersion: safari[1] });
  if (typeof screen !== 'undefined') {
    info.displayWidth = screen.width;
    info.displayHeight = screen.height;
  }
  if (typeof location !== 'undefined') {
    info.connectionSecure = String(location.protocol === 'https:');
  }
  return info;
}

const NODE_OS: Record<string, Partial<DeviceInfo>> = {
  linux: { osName: 'Linux', osFamily: 'Linux' },
  darwin: { osName: 'Mac OS', osFamily: 'macOS', osVendor: 'Apple' },
  win32: { osName: 'Windows', osFamily: 'Windows', osVendor: 'Microsoft' },
  android: { osName: 'Android', osFamily: 'Android', osVendor: 'Google' },
  openbsd: { osName: 'OpenBSD', osFamily: 'BSD' },
};

interface NodeProcess {
  versions?: { node?: string };
  platform?: string;
  arch?: string;
}

/** What a Node process tells about itself without importing `os`. */
export function nodeProcessDeviceInfo(): DeviceInfo {
  const proc = (globalThis as unknown as { process?: NodeProcess }).process;
  const platform = proc?.platform ?? '';
  return {
    primaryHardwareType: 'Desktop',
    ...(NODE_OS[platform] ?? {}),
    model: proc?.arch,
    userAgent: `Node.js/${proc?.versions?.node ?? ''} (${platform})`,
  };
}

/** `X-Device-Info` for this runtime: a browser's or a Node process's. */
export function deviceInfo(overrides: DeviceInfo = {}): string {
  const isBrowser = typeof window !== 'undefined' && typeof navigator !== 'undefined';
  const base = isBrowser ? browserDeviceInfo() : nodeProcessDeviceInfo();
  return encodeDeviceInfo({ ...base, ...overrides });
}

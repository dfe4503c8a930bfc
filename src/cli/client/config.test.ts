import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clientConfigPath, clientSettings, requireToken } from './config.js';

describe('client settings', () => {
  const home = mkdtempSync(join(tmpdir(), 'quarters-client-config-'));
  mkdirSync(join(home, 'quarters'));
  writeFileSync(join(home, 'quarters', 'client.toml'), 'server = "https://from-file.example/"\ntoken_file = "token"\n');
  writeFileSync(join(home, 'quarters', 'token'), 'file-token-0123456789\n');
  writeFileSync(join(home, 'flag.token'), '  flag-token-0123456789\n');
  const env = { XDG_CONFIG_HOME: home };

  it('finds client.toml under XDG_CONFIG_HOME, else ~/.config; a relative XDG_CONFIG_HOME is ignored', () => {
    expect(clientConfigPath(env)).toBe(join(home, 'quarters', 'client.toml'));
    expect(clientConfigPath({})).toBe(join(homedir(), '.config', 'quarters', 'client.toml'));
    expect(clientConfigPath({ XDG_CONFIG_HOME: 'relative' })).toBe(join(homedir(), '.config', 'quarters', 'client.toml'));
  });

  it('takes each of server and token from the flag, else the environment, else the file', async () => {
    expect(await clientSettings({}, env)).toEqual({ server: 'https://from-file.example', token: 'file-token-0123456789' });
    expect(await clientSettings({}, { ...env, QUARTERS_SERVER: 'http://env.example', QUARTERS_API_TOKEN: 'env-token' })).toEqual({ server: 'http://env.example', token: 'env-token' });
    expect(await clientSettings({ server: 'http://flag.example', tokenFile: join(home, 'flag.token') }, { ...env, QUARTERS_SERVER: 'http://env.example', QUARTERS_API_TOKEN: 'env-token' })).toEqual({
      server: 'http://flag.example',
      token: 'flag-token-0123456789',
    });
  });

  it('says where to put what is missing', async () => {
    const empty = { XDG_CONFIG_HOME: join(home, 'nowhere') };
    await expect(clientSettings({}, empty)).rejects.toThrow(/give --server URL, set QUARTERS_SERVER, or put server = "URL" in .*nowhere\/quarters\/client\.toml/);
    const settings = await clientSettings({ server: 'http://x.example' }, empty);
    expect(() => requireToken(settings, 'ns new')).toThrow(/^ns new needs an API token: set QUARTERS_API_TOKEN, give --token-file FILE/);
  });
});

import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/common/config-file.js';
import { listenAddress, retentionPolicy, SERVER_SECRET_KEYS, serverConfigSchema } from '../../src/core/server-config.js';
import { configErrorOf, writeConfigFile } from '../support/config-files.js';

const VALID = `
listen = "127.0.0.1:9090"
public_url = "https://quarters.example.org"
data_dir = "/var/lib/quarters"

[gitlab]
url = "https://gitlab.example.org"
token_file = "gitlab.token"
webhook_secret = "0123456789abcdef0123"
packages_group = "archlinux/packaging/packages"

[build]
flavour = "pkgbuild"
architectures = ["x86_64"]
auto_rebuild = true
max_in_flight = 3

[api]
tokens_file = "api.tokens"

[executor]
tokens = ["executor-token-0123456789"]
`;

function load(text: string) {
  const file = writeConfigFile(text, { 'gitlab.token': 'glpat-secret\n', 'api.tokens': 'api-token-aaaaaaaaaaaa\napi-token-bbbbbbbbbbbb\n' });
  return () => loadConfigFile(serverConfigSchema, file, SERVER_SECRET_KEYS);
}


describe('server config', () => {
  it('loads every key, secrets from files', () => {
    const config = load(VALID)();
    expect(config.gitlab?.token).toBe('glpat-secret');
    expect(config.api.tokens).toEqual(['api-token-aaaaaaaaaaaa', 'api-token-bbbbbbbbbbbb']);
    expect(config.build).toEqual({ flavour: 'pkgbuild', architectures: ['x86_64'], auto_rebuild: true, cycle_rebuild: 'none', max_in_flight: 3, deb_build_options: '', deb_build_profiles: [], deb_build_type: 'binary' });
    expect(listenAddress(config)).toEqual({ host: '127.0.0.1', port: 9090 });
  });

  it.each([
    ['flavour = "pkgbuild"', 'flavour = "rpm"', 'build.flavour'],
    ['listen = "127.0.0.1:9090"', 'listen = "9090"', 'listen'],
    ['max_in_flight = 3', 'max_in_flight = 0', 'build.max_in_flight'],
    ['public_url = "https://quarters.example.org"', 'public_url = "quarters"', 'public_url'],
    ['[executor]\ntokens = ["executor-token-0123456789"]', '[executor]\ntokens = ["short"]', 'executor.tokens.0'],
    ['packages_group = "archlinux/packaging/packages"', 'packages_group = "a"\ntree_project = "b"', 'gitlab'],
    ['auto_rebuild = true', 'auto_rebuild = true\nparallel = 2', 'build'],
    ['auto_rebuild = true', 'auto_rebuild = true\ndeb_build_options = "nocheck; reboot"', 'build.deb_build_options'],
    ['auto_rebuild = true', 'auto_rebuild = true\ndeb_build_profiles = ["Stage1"]', 'build.deb_build_profiles.0'],
    ['auto_rebuild = true', 'auto_rebuild = true\ndeb_build_type = "source"', 'build.deb_build_type'],
  ])('names the key of a bad value (%s → %s)', (from, to, key) => {
    expect(configErrorOf(load(VALID.replace(from, to))).key).toBe(key);
  });

  it('takes Debian build options and profiles', () => {
    const config = load(VALID.replace('flavour = "pkgbuild"', 'flavour = "debian"\ndeb_build_options = "nocheck parallel=4 noautodbgsym"\ndeb_build_profiles = ["nocheck", "pkg.garnet.nodoc"]'))();
    expect(config.build).toMatchObject({ deb_build_options: 'nocheck parallel=4 noautodbgsym', deb_build_profiles: ['nocheck', 'pkg.garnet.nodoc'] });
  });

  it('takes deb_build_type "full", and says what it takes instead of anything else', () => {
    expect(load(VALID.replace('flavour = "pkgbuild"', 'flavour = "debian"\ndeb_build_type = "full"'))().build.deb_build_type).toBe('full');
    const error = configErrorOf(load(VALID.replace('flavour = "pkgbuild"', 'flavour = "debian"\ndeb_build_type = "source"')));
    expect(error.key).toBe('build.deb_build_type');
    expect(error.message).toMatch(/expected "binary" \(the binary packages\) or "full" \(the source package too\)/);
  });

  it('takes [retention], with defaults that expire nothing by themselves unless the table is given', () => {
    const DAY = 86_400_000;
    expect(retentionPolicy(load(VALID)())).toEqual({ keepIterations: 3, supersededAfterMs: 30 * DAY, retiredAfterMs: 90 * DAY, logsAfterMs: null, intervalMs: null });
    const config = load(`${VALID}\n[retention]\nkeep_iterations = 2\nsuperseded_after = "2w"\nlogs_after = "7d"\n`)();
    expect(retentionPolicy(config)).toEqual({ keepIterations: 2, supersededAfterMs: 14 * DAY, retiredAfterMs: 90 * DAY, logsAfterMs: 7 * DAY, intervalMs: 6 * 3_600_000 });
    for (const [line, key, message] of [
      ['superseded_after = "30 days"', 'retention.superseded_after', /a whole number and s, m, h, d or w/],
      ['keep_iterations = 0', 'retention.keep_iterations', /latest iteration is always kept/],
      ['interval = "10s"', 'retention.interval', /at least 1m/],
      ['keep = 3', 'retention', /keep/],
    ] as const) {
      const error = configErrorOf(load(`${VALID}\n[retention]\n${line}\n`));
      expect(error.key, line).toBe(key);
      expect(error.message, line).toMatch(message);
    }
  });

  it('says that neither recipe layout is given', () => {
    const run = load(VALID.replace('packages_group = "archlinux/packaging/packages"', ''));
    expect(() => run()).toThrow(/gitlab: give exactly one of packages_group/);
  });
});

describe('server config without [gitlab] (local-only mode)', () => {
  const withoutTable = (text: string, table: string) => text.replace(new RegExp(`\\[${table}\\]\\n(.+\\n)*`), '');
  const LOCAL = withoutTable(withoutTable(VALID, 'gitlab'), 'executor');

  it('loads without [gitlab] and [executor]', () => {
    const config = load(LOCAL)();
    expect(config.gitlab).toBeUndefined();
    expect(config.executor).toBeUndefined();
    expect(config.data_dir).toBe('/var/lib/quarters');
  });

  it('still wants [executor] tokens when [gitlab] is given', () => {
    const withGitlabOnly = withoutTable(VALID, 'executor');
    expect(configErrorOf(load(withGitlabOnly)).key).toBe('executor');
  });
});

describe('server config: [signing] and [repositories]', () => {
  const SIGNING = `${VALID}
[signing]
key_file = "/etc/quarters/signing-key.asc"
key_id = "0123456789ABCDEF0123456789ABCDEF01234567"
passphrase_file = "signing.passphrase"

[repositories.core]
directory = "/srv/dist/core"
flavour = "pacman"
`;
  const loadSigning = (text: string) => {
    const file = writeConfigFile(text, { 'gitlab.token': 'glpat-secret\n', 'api.tokens': 'api-token-aaaaaaaaaaaa\n', 'signing.passphrase': 'pass phrase\n' });
    return () => loadConfigFile(serverConfigSchema, file, SERVER_SECRET_KEYS);
  };

  it('loads the signing key with its passphrase from a file, and the repositories', () => {
    const config = loadSigning(SIGNING)();
    expect(config.signing).toEqual({ key_file: '/etc/quarters/signing-key.asc', key_id: '0123456789ABCDEF0123456789ABCDEF01234567', passphrase: 'pass phrase' });
    expect(config.repositories).toEqual({ core: { directory: '/srv/dist/core', flavour: 'pacman' } });
    expect(load(VALID)().repositories).toEqual({});
  });

  it.each([
    ['key_id = "0123456789ABCDEF0123456789ABCDEF01234567"', 'key_id = "Jane"', 'signing.key_id'],
    ['key_file = "/etc/quarters/signing-key.asc"', 'gnupg_home = "/root/.gnupg"\nkey_file = "/k.asc"', 'signing'],
    ['key_file = "/etc/quarters/signing-key.asc"', '', 'signing'],
    ['flavour = "pacman"', 'flavour = "apt"', 'repositories.core.flavour'],
    ['flavour = "pacman"', 'flavour = "pacman"\narchitectures = ["riscv64"]', 'repositories.core.architectures'],
    ['[repositories.core]', '[repositories.Core]', 'repositories.Core'],
    ['flavour = "pacman"\n', 'flavour = "pacman"\n[repositories.extra]\ndirectory = "/srv/dist/core"\nflavour = "pacman"\n', 'repositories.extra.directory'],
  ])('names the key of a bad value (%s → %s)', (from, to, key) => {
    expect(configErrorOf(loadSigning(SIGNING.replace(from, to))).key).toBe(key);
  });
});

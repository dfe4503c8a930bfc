import { describe, expect, it } from 'vitest';
import { totalmem } from 'node:os';
import { defaultMemoryMib, executorConfigPath, loadExecutorConfig } from './config.js';
import { configErrorOf as errorOf, writeConfigFile } from '../../test/support/config-files.js';

const write = (text: string, extra: Record<string, string> = {}): string => writeConfigFile(text, extra, 'executor.toml');



describe('executor config', () => {
  it('applies the documented defaults', () => {
    const config = loadExecutorConfig(write(''));
    expect(config).toMatchObject({ work_dir: '/var/lib/quarters', backend: 'nspawn', default_branch: 'stable', network: { build: false, fetch_command: [], blocked_networks: [] } });
  });

  it('bounds memory and disk by default; 0 is an explicit "unlimited"', () => {
    const config = loadExecutorConfig(write(''));
    expect(config.limits.disk_mib).toBe(20 * 1024);
    expect(config.limits.memory_mib).toBe(defaultMemoryMib());
    expect(config.limits.memory_mib).toBeGreaterThan(0);
    expect(config.limits.memory_mib).toBeLessThanOrEqual(Math.max(256, totalmem() / 2 / 1024 / 1024));
    expect(defaultMemoryMib(8 * 1024 ** 3)).toBe(4096);
    expect(defaultMemoryMib(256 * 1024 ** 3)).toBe(16 * 1024);
    expect(loadExecutorConfig(write('[limits]\nmemory_mib = 0\ndisk_mib = 0\n')).limits).toMatchObject({ memory_mib: 0, disk_mib: 0 });
  });

  it('takes blocked networks as addresses or CIDRs only', () => {
    expect(loadExecutorConfig(write('[network]\nblocked_networks = ["10.0.0.0/8", "169.254.169.254", "fd00::/8"]\n')).network.blocked_networks).toEqual(['10.0.0.0/8', '169.254.169.254', 'fd00::/8']);
    for (const bad of ['10.0.0.0/33', 'example.org', '10.0.0.0/8/1', 'fd00::/129']) {
      const file = write(`[network]\nblocked_networks = ["${bad}"]\n`);
      expect(errorOf(() => loadExecutorConfig(file)).message, bad).toBe(`${file}: network.blocked_networks.0: expected an address or an address/prefix-length (CIDR)`);
    }
  });

  it('runs guests in a user namespace from a multiple of 65536 unless told not to', () => {
    expect(loadExecutorConfig(write('')).isolation).toEqual({ user_namespace: true, id_base: 0x70000000 });
    expect(loadExecutorConfig(write('[isolation]\nuser_namespace = false\n')).isolation.user_namespace).toBe(false);
    const odd = write('[isolation]\nid_base = 100000\n');
    expect(errorOf(() => loadExecutorConfig(odd)).message).toBe(`${odd}: isolation.id_base: expected a multiple of 65536`);
    expect(errorOf(() => loadExecutorConfig(write('[isolation]\nid_base = 0\n'))).key).toBe('isolation.id_base');
  });

  it('reads the server token from token_file', () => {
    const config = loadExecutorConfig(write('[server]\ntoken_file = "tok"\n', { tok: 's3cret\n' }));
    expect(config.server.token).toBe('s3cret');
  });

  it('takes the server\'s URL from [server] url, http or https only', () => {
    expect(loadExecutorConfig(write('[server]\nurl = "https://quarters.example.org/"\n')).server.url).toBe('https://quarters.example.org/');
    expect(loadExecutorConfig(write('')).server.url).toBeUndefined();
    const file = write('[server]\nurl = "file:///etc/passwd"\n');
    expect(errorOf(() => loadExecutorConfig(file)).message).toBe(`${file}: server.url: expected an http:// or https:// URL`);
  });

  it('names the file and the key of a bad value', () => {
    const file = write('work_dir = "relative/path"\n');
    expect(errorOf(() => loadExecutorConfig(file)).message).toBe(`${file}: work_dir: expected an absolute path`);
    const limits = write('[limits]\nmemory_mib = -1\n');
    expect(errorOf(() => loadExecutorConfig(limits)).key).toBe('limits.memory_mib');
    const disk = write('[limits]\ndisk_mib = 2\n');
    expect(errorOf(() => loadExecutorConfig(disk)).message).toBe(`${disk}: limits.disk_mib: expected 0 (no limit) or at least 16: a smaller filesystem holds little besides its own metadata`);
    const backend = write('backend = "docker"\n');
    expect(errorOf(() => loadExecutorConfig(backend)).key).toBe('backend');
  });

  it('rejects unknown keys and a missing file clearly', () => {
    expect(errorOf(() => loadExecutorConfig(write('wrok_dir = "/x"\n'))).message).toMatch(/unknown key "wrok_dir"/);
    expect(errorOf(() => loadExecutorConfig('/nonexistent/executor.toml')).message).toMatch(/^\/nonexistent\/executor.toml: cannot read the config file: ENOENT/);
  });

  it('is found through QUARTERS_EXECUTOR_CONFIG, else at the default path', () => {
    expect(executorConfigPath({ QUARTERS_EXECUTOR_CONFIG: '/etc/x.toml' })).toBe('/etc/x.toml');
    expect(executorConfigPath({})).toBe('/etc/quarters/executor.toml');
  });
});

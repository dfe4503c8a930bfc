import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfigFile } from './config-file.js';
import { configErrorOf as errorOf, writeConfigFile as write } from '../../test/support/config-files.js';

const schema = z.strictObject({
  listen: z.string().default('127.0.0.1:8080'),
  gitlab: z.strictObject({ url: z.url(), token: z.string().min(1) }).optional(),
  api: z.strictObject({ tokens: z.array(z.string().min(16)) }).optional(),
});



describe('loadConfigFile', () => {
  it('reads, validates and applies defaults', () => {
    const file = write('[gitlab]\nurl = "https://gitlab.example.org"\ntoken = "glpat-x"\n');
    expect(loadConfigFile(schema, file)).toEqual({ listen: '127.0.0.1:8080', gitlab: { url: 'https://gitlab.example.org', token: 'glpat-x' } });
  });

  it('names the file and the key of a wrong value', () => {
    const file = write('[gitlab]\nurl = "not a url"\ntoken = "x"\n');
    const error = errorOf(() => loadConfigFile(schema, file));
    expect(error.key).toBe('gitlab.url');
    expect(error.message).toContain(file);
    expect(error.message).toContain('gitlab.url');
  });

  it('names an unknown key', () => {
    const error = errorOf(() => loadConfigFile(schema, write('lisen = "0.0.0.0:1"\n')));
    expect(error.message).toMatch(/unknown key "lisen"/);
  });

  it('names the line of a TOML syntax error', () => {
    const error = errorOf(() => loadConfigFile(schema, write('listen = "a"\n[gitlab\n')));
    expect(error.message).toMatch(/line 2/);
  });

  it('says when the file cannot be read', () => {
    const error = errorOf(() => loadConfigFile(schema, '/nonexistent/quarters.toml'));
    expect(error.message).toMatch(/ENOENT/);
  });

  it('reads secrets from <key>_file, relative to the config file, and refuses both forms', () => {
    const file = write('[gitlab]\nurl = "https://g.example"\ntoken_file = "gl.token"\n[api]\ntokens_file = "api.tokens"\n', {
      'gl.token': 'glpat-secret\n',
      'api.tokens': 'aaaaaaaaaaaaaaaaaaaa\n\nbbbbbbbbbbbbbbbbbbbb\n',
    });
    const config = loadConfigFile(schema, file, ['gitlab.token', 'api.tokens']);
    expect(config.gitlab?.token).toBe('glpat-secret');
    expect(config.api?.tokens).toEqual(['aaaaaaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbbbbbb']);
    const both = write('[gitlab]\nurl = "https://g.example"\ntoken = "a"\ntoken_file = "gl.token"\n', { 'gl.token': 'b' });
    expect(errorOf(() => loadConfigFile(schema, both, ['gitlab.token'])).key).toBe('gitlab.token_file');
  });
});

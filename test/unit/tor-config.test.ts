// Config of the Tor keys: the four modes, the control endpoint, secrets from files only, tor.all, the virtual port; each mistake named.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_FLAG_OPTIONS, defaultConfig, loadConfig, parseConfigText, renderDefaultToml } from '../../gateway/config.js';
import { ConfigError } from '../../gateway/xmpp/errors.js';
import { tmpDir } from '../support/identities.js';

function fails(toml: string): ConfigError {
  try {
    parseConfigText(toml);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`accepted: ${toml}`);
}

describe('tor config', () => {
  it('defaults to auto with Debian\'s control socket, cookie auth, onions only through Tor, port 18765', () => {
    expect(defaultConfig().tor).toEqual({ mode: 'auto', control: '/run/tor/control', control_password_file: '', all: false, virtual_port: 18765 });
    expect(renderDefaultToml()).toContain('[tor]\n');
    expect(renderDefaultToml()).toContain('# virtual_port = 18765');
  });

  it.each(['auto', 'launch', 'control', 'off'])('accepts mode %s', (mode) => {
    expect(parseConfigText(`[tor]\nmode = "${mode}"\n`).tor.mode).toBe(mode);
  });

  it('accepts a TCP or Unix control endpoint and normalises it', () => {
    expect(parseConfigText('[tor]\ncontrol = "127.0.0.1:9051"\n').tor.control).toBe('127.0.0.1:9051');
    expect(parseConfigText('[tor]\ncontrol = "[::1]:9051"\n').tor.control).toBe('[::1]:9051');
    expect(parseConfigText('[tor]\ncontrol = "LocalHost:9051"\n').tor.control).toBe('localhost:9051');
    expect(parseConfigText('[tor]\ncontrol = "/var/run/tor/control"\n').tor.control).toBe('/var/run/tor/control');
  });

  it.each([
    ['[tor]\nmode = "on"', 'tor.mode', 'must be one of "auto", "launch", "control", "off", got "on"'],
    ['[tor]\ncontrol = "9051"', 'tor.control', 'must be "host:port" (e.g. "127.0.0.1:9051") or an absolute Unix socket path'],
    ['[tor]\ncontrol = "127.0.0.1:99999"', 'tor.control', 'must be "host:port" (e.g. "127.0.0.1:9051") or an absolute Unix socket path (e.g. "/run/tor/control"): port must be a number from 1 to 65535'],
    ['[tor]\ncontrol = "run/tor/control"', 'tor.control', 'must be "host:port"'],
    ['[tor]\ncontrol_password_file = 5', 'tor.control_password_file', 'must be a string, got 5'],
    ['[tor]\nall = "yes"', 'tor.all', 'must be true or false, got "yes"'],
    ['[tor]\nvirtual_port = 0', 'tor.virtual_port', 'must be an integer from 1 to 65535, got 0'],
    ['[tor]\nvirtual_port = 70000', 'tor.virtual_port', 'must be an integer from 1 to 65535, got 70000'],
    ['[tor]\nmode = "off"\nall = true', 'tor.all', 'is true, but tor.mode is "off"'],
    ['[tor]\nextra_options = []', 'tor.extra_options', 'unknown key'],
    ['[tor]\ncontrol_password = "secret"', 'tor.control_password', 'unknown key (did you mean tor.control_password_file?)'],
  ])('%j fails on %s', (toml, key, reason) => {
    const err = fails(`${toml}\n`);
    expect(err.key).toBe(key);
    expect(err.message).toContain(`config ${key}: ${reason}`);
  });

  it('takes --tor and TLSIM_TOR_* and names them in errors; no flag carries a secret', async () => {
    const missing = join(tmpDir(), 'missing.toml');
    expect((await loadConfig({ configPath: missing, argvFlags: { tor: 'off' } })).tor.mode).toBe('off');
    const env = { TLSIM_TOR_MODE: 'control', TLSIM_TOR_CONTROL: '127.0.0.1:9151', TLSIM_TOR_ALL: 'true', TLSIM_TOR_VIRTUAL_PORT: '443' };
    expect((await loadConfig({ configPath: missing, env })).tor).toMatchObject({ mode: 'control', control: '127.0.0.1:9151', all: true, virtual_port: 443 });
    await expect(loadConfig({ configPath: missing, env: { TLSIM_TOR_MODE: 'of' } })).rejects.toThrow(
      'config tor.mode: must be one of "auto", "launch", "control", "off", got "of" (from TLSIM_TOR_MODE)',
    );
    expect(Object.keys(CONFIG_FLAG_OPTIONS).filter((f) => /password|secret/.test(f))).toEqual([]);
  });
});

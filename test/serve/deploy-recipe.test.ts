// #18 §3: the deployment recipe the README gives (compose.yaml, deploy/nginx.conf) is checked
// here without Docker: compose.yaml parses, every upstream server nginx names is a compose service
// listening on that port, every alignkit service's command line passes the CLI's own flag checks
// (the Dockerfile's entry point included), the volumes the services write are created in the image
// for the user it runs as, and the README shows the nginx.conf that is shipped. nginx itself runs
// deploy/nginx.conf in test/serve/replicas.slow.test.ts.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadAllCommands } from '../../src/cli/commands/index.js';
import { parseFlags } from '../../src/cli/options.js';
import type { Command } from '../../src/cli/registry.js';
import { REPO_ROOT } from '../helpers/paths.js';

interface Service {
  build?: string;
  image?: string;
  entrypoint?: string[];
  command?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}

const read = (file: string) => fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');
const compose = parse(read('compose.yaml'), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const nginxConf = read('deploy/nginx.conf');
const dockerfile = read('Dockerfile');
const entrypoint = JSON.parse(dockerfile.match(/^ENTRYPOINT (\[.*\])$/m)![1]!) as string[];
const CLI = ['node', 'dist/cli/main.js'];

/** The alignkit argv a service runs: the image's entry point (or the service's) and its command. */
function alignkitArgv(service: Service): string[] | undefined {
  if (!service.build) return undefined;
  const argv = [...(service.entrypoint ?? entrypoint), ...(service.command ?? [])];
  expect(argv.slice(0, 2)).toEqual(CLI);
  return argv.slice(2);
}

const COMMANDS = await loadAllCommands();

/** Checks argv's flags as main.ts does (its command words, then the innermost flag table). */
function checkFlags(argv: string[]): Record<string, unknown> {
  let cmd: Command = COMMANDS.find((c) => c.name === argv[0])!;
  expect(cmd, `no command ${argv[0]}`).toBeDefined();
  let rest = argv.slice(1);
  const words = [cmd.name];
  while (cmd.subcommands && rest[0] !== undefined && Object.hasOwn(cmd.subcommands, rest[0])) {
    cmd = cmd.subcommands[rest[0]]!;
    words.push(rest[0]);
    rest = rest.slice(1);
  }
  expect(cmd.flags, `alignkit ${words.join(' ')} has a flag table`).toBeDefined();
  return parseFlags(words.join(' '), cmd.flags!, rest, cmd.positionals).values;
}

describe('compose.yaml and deploy/nginx.conf', () => {
  it('every upstream server of nginx.conf is a compose service listening on that port', () => {
    const servers = [...nginxConf.matchAll(/^\s*server ([\w.-]+):(\d+)/gm)].map((m) => ({ host: m[1]!, port: m[2]! }));
    expect(servers.map((s) => s.host).sort()).toEqual(['annotate-1', 'annotate-2', 'scoring-1', 'scoring-2']);
    for (const { host, port } of servers) {
      const service = compose.services[host];
      expect(service, `compose.yaml has no service ${host}`).toBeDefined();
      expect(checkFlags(alignkitArgv(service!)!)).toMatchObject({ port, host: '0.0.0.0' });
      expect(compose.services.nginx!.depends_on?.[host]?.condition).toBe('service_healthy');
    }
    expect(compose.services.nginx!.volumes).toContain('./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro');
  });

  it('every alignkit service\'s command line passes the CLI\'s flag checks', () => {
    const commands = Object.entries(compose.services).flatMap(([name, s]) => {
      const argv = alignkitArgv(s);
      return argv ? [[name, argv.slice(0, 2).join(' ')]] : [];
    });
    expect(Object.fromEntries(commands)).toEqual({
      'scoring-1': 'serve --host', 'scoring-2': 'serve --host',
      'annotate-1': 'annotate serve', 'annotate-2': 'annotate serve', 'jobs-worker': 'jobs worker',
    });
    for (const [name, service] of Object.entries(compose.services)) {
      const argv = alignkitArgv(service);
      if (!argv) continue;
      const flags = checkFlags(argv);
      if (argv[0] === 'annotate') expect(flags.store, name).toMatch(/@postgres:5432\//);
      if (argv[0] === 'jobs') expect(flags.redis, name).toBe('redis://redis:6379');
    }
    expect(() => checkFlags(['serve', '--max-concurent', '256'])).toThrow(/unknown flag --max-concurent; did you mean --max-concurrent/);
  });

  it('the services\' healthchecks ask /readyz on the port they listen on', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      const argv = alignkitArgv(service);
      if (!argv || argv[0] === 'jobs') continue;
      const port = String(checkFlags(argv).port);
      const env = (service as { environment?: Record<string, string> }).environment?.PORT ?? '8080';
      expect(env, `${name}: the healthcheck's PORT`).toBe(port);
      expect(service.healthcheck?.test.join(' '), name).toContain('/readyz');
    }
  });

  it('the volumes alignkit services write are directories the image creates for its user', () => {
    const owned = dockerfile.match(/^RUN mkdir -p ([^&]+)&& chown -R node:node/m)?.[1]!.trim().split(/\s+/) ?? [];
    expect(dockerfile).toMatch(/^USER node$/m);
    for (const [name, service] of Object.entries(compose.services)) {
      if (!service.build) continue;
      for (const volume of service.volumes ?? []) {
        const [source, target] = volume.split(':');
        expect(Object.keys(compose.volumes), `${name}: volume ${source}`).toContain(source);
        expect(owned, `${name}: ${target} is not created for the node user in the Dockerfile`).toContain(target);
      }
    }
  });

  it('the README shows the nginx.conf that is shipped', () => {
    const block = read('README.md').match(/```nginx\n([\s\S]*?)```/)?.[1];
    expect(block).toBe(nginxConf);
  });
});

// Where a run keeps what it computes once and reads back later (reference log-probs today): a
// per-user cache directory, never next to the dataset (a cache written there shows up in
// `git status`, in `npm pack` and in the Docker image, and fails on a read-only data folder).
// Resolution, first match wins: the run config's `cacheDir` (`--cache-dir`), the
// ALIGNKIT_CACHE_DIR environment variable, then the platform's user cache home as the XDG Base
// Directory specification defines it ($XDG_CACHE_HOME, else ~/.cache; %LOCALAPPDATA% on Windows),
// with `alignkit` below it, as pip, Hugging Face and others name theirs.

import os from 'node:os';
import path from 'node:path';

export const CACHE_DIR_ENV = 'ALIGNKIT_CACHE_DIR';

export type Env = Readonly<Record<string, string | undefined>>;

/** The user's cache home: $XDG_CACHE_HOME when absolute (the spec says to ignore a relative one), else ~/.cache. */
function userCacheHome(env: Env, home: string, platform: NodeJS.Platform): string {
  if (platform === 'win32' && env.LOCALAPPDATA) return env.LOCALAPPDATA;
  const xdg = env.XDG_CACHE_HOME;
  return xdg && path.isAbsolute(xdg) ? xdg : path.join(home, '.cache');
}

/** The cache directory of a run: `explicit` (run config / flag), else the environment, else the user cache home's `alignkit`. */
export function resolveCacheDir(explicit?: string, env: Env = process.env, home: string = os.homedir(), platform: NodeJS.Platform = process.platform): string {
  if (explicit) return path.resolve(explicit);
  const fromEnv = env[CACHE_DIR_ENV];
  if (fromEnv) return path.resolve(fromEnv);
  return path.join(userCacheHome(env, home, platform), 'alignkit');
}

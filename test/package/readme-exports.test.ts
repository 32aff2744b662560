// Regression of issue #12 §6: the README documented names (selectTrainable, injectLora,
// addTokenLogProbHead, stripKvCache, addTokenKlHead, ...) that no package entry exported. Every
// `import {...} from 'alignkit/...'` in the README, and the names its prose attributes to an entry,
// must be exported by the source of that entry (the packed tarball is checked in the slow suite).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.js';

const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { default: string }> };

/** The source module behind a package subpath ('alignkit/graph' -> src/graph/index.ts). */
function sourceOf(specifier: string): string {
  const sub = specifier === 'alignkit' ? '.' : `./${specifier.slice('alignkit/'.length)}`;
  const target = pkg.exports[sub]?.default;
  if (!target) throw new Error(`package.json exports no ${sub} (README imports ${specifier})`);
  return path.join(REPO_ROOT, target.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));
}

/** Names the README's prose says an entry exports (sentences, not import lines). */
const PROSE: Record<string, string[]> = {
  'alignkit/graph': ['selectTrainable', 'lastBlocks', 'scoreHead', 'ParameterMap', 'injectLora', 'mergeLora', 'addTokenLogProbHead', 'addNextTokenLoss', 'addWeightedLogProbLoss', 'stripKvCache', 'addTokenKlHead', 'addFrozenBranch', 'addTokenMaskHead'],
  'alignkit/rewards': ['OnnxRewardModel', 'RewardEnsemble', 'preferenceProbability', 'FollowUpLikelihoodReward', 'DpoImpliedReward', 'addMomentProbeHead'],
  'alignkit/serve': ['buildServer'],
  'alignkit/datasets': ['openPreferenceStream', 'readRows', 'writeRows'],
};

function readmeImports(): Record<string, string[]> {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const out: Record<string, string[]> = {};
  for (const m of readme.matchAll(/import \{([^}]+)\} from '(alignkit(?:\/[a-z-]+)?)'/g)) {
    const names = m[1]!.split(',').map((n) => n.trim().replace(/^type /, '')).filter(Boolean);
    (out[m[2]!] ??= []).push(...names);
  }
  return out;
}

describe('what the README documents is exported', () => {
  const documented = readmeImports();
  for (const [entry, names] of Object.entries(PROSE)) (documented[entry] ??= []).push(...names);

  it.each(Object.entries(documented))('%s', async (entry, names) => {
    const mod = (await import(sourceOf(entry))) as Record<string, unknown>;
    const missing = [...new Set(names)].filter((n) => !(n in mod));
    expect(missing, `${entry} lacks README names`).toEqual([]);
  });

  it('every package subpath points at a built index with its types', () => {
    for (const [sub, target] of Object.entries(pkg.exports)) {
      expect(fs.existsSync(sourceOf(sub === '.' ? 'alignkit' : `alignkit/${sub.slice(2)}`)), sub).toBe(true);
      expect((target as unknown as { types: string }).types, sub).toBe(target.default.replace(/\.js$/, '.d.ts'));
    }
  });
});

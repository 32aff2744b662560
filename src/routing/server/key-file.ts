// The operator's key file for `alignkit annotate serve`: the admin key and one API key per
// annotator, kept by the operator (mode 0600) so keys survive restarts and can be handed out.
// The label store itself holds only the keys' SHA-256 hashes.
//
//   { "admin": "ak_...", "annotators": [{ "id": "alice", "name": "alice", "key": "ak_..." }] }

import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../../errors.js';
import { newApiKey } from '../store/label-store.js';
import { checkId } from '../store/validate.js';

export interface KeyFile {
  admin: string;
  annotators: { id: string; name: string; key: string }[];
}

function parse(file: string): KeyFile {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw fail('ALIGNKIT_ERR_BAD_FORMAT', `key file ${file} is not JSON: ${(e as Error).message}`, { file }, e);
  }
  const bad = (field: string, what: string) => fail('ALIGNKIT_ERR_BAD_FORMAT', `key file ${file}: ${field} ${what}`, { file, field });
  const keys = data as Partial<KeyFile>;
  if (typeof keys?.admin !== 'string' || keys.admin.length < 16) throw bad('admin', 'must be a key of at least 16 characters');
  if (!Array.isArray(keys.annotators)) throw bad('annotators', 'must be a list of {id, name, key}');
  keys.annotators.forEach((a, i) => {
    for (const field of ['id', 'name', 'key'] as const) if (typeof a?.[field] !== 'string' || a[field] === '') throw bad(`annotators[${i}].${field}`, 'must be a non-empty string');
    if (a.key.length < 16) throw bad(`annotators[${i}].key`, 'must be at least 16 characters');
  });
  return keys as KeyFile;
}

/** Writes next to the target and renames, so a crash never leaves half a key file. */
function write(file: string, keys: KeyFile): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/**
 * Reads the key file, creating it (with a fresh admin key) when it does not exist, and adds a key
 * for each annotator name it does not hold yet. Resolves to the keys and the names added.
 */
export function loadKeyFile(file: string, addAnnotators: string[] = []): { keys: KeyFile; added: string[]; created: boolean } {
  const created = !fs.existsSync(file);
  const keys = created ? { admin: newApiKey(), annotators: [] } : parse(file);
  const added: string[] = [];
  for (const name of addAnnotators) {
    checkId(name, '--annotators');
    if (keys.annotators.some((a) => a.id === name)) continue;
    keys.annotators.push({ id: name, name, key: newApiKey() });
    added.push(name);
  }
  if (created || added.length) write(file, keys);
  return { keys, added, created };
}

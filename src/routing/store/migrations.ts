// The label store's schema as an ordered list of migrations: migration i takes the schema from
// version i to i + 1. A store records its version in `schema_version`; opening runs the missing
// migrations in one transaction each. Append new migrations; never edit a released one.

import type Database from 'better-sqlite3';
import { VERDICTS_MIGRATION } from './verdicts.js';

export type Migration = { description: string; up(db: Database.Database): void };

export const MIGRATIONS: Migration[] = [
  {
    description: 'pairs, features, routing runs and decisions, AI labels, annotators, human labels',
    up(db) {
      db.exec(`
        CREATE TABLE pairs (
          id TEXT PRIMARY KEY,
          prompt TEXT NOT NULL,
          response_a TEXT NOT NULL,
          response_b TEXT NOT NULL,
          extra TEXT NOT NULL DEFAULT '{}',
          created_at TEXT NOT NULL
        );
        CREATE TABLE features (
          pair_id TEXT PRIMARY KEY REFERENCES pairs(id) ON DELETE CASCADE,
          active TEXT NOT NULL,
          scores TEXT NOT NULL,
          tags TEXT NOT NULL
        );
        CREATE TABLE routing_runs (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          strategy TEXT NOT NULL,
          budget REAL,
          params TEXT NOT NULL DEFAULT '{}',
          predicted REAL,
          created_at TEXT NOT NULL
        );
        CREATE TABLE routing_decisions (
          run_id INTEGER NOT NULL REFERENCES routing_runs(id) ON DELETE CASCADE,
          pair_id TEXT NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
          route TEXT NOT NULL CHECK (route IN ('human', 'ai')),
          gain REAL,
          PRIMARY KEY (run_id, pair_id)
        );
        CREATE TABLE ai_labels (
          pair_id TEXT NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
          judge TEXT NOT NULL,
          preference TEXT CHECK (preference IN ('A', 'B', 'tie')),
          score_a REAL,
          score_b REAL,
          created_at TEXT NOT NULL,
          PRIMARY KEY (pair_id, judge)
        );
        CREATE TABLE annotators (
          id TEXT PRIMARY KEY,
          name TEXT NOT NULL,
          key_hash TEXT NOT NULL UNIQUE,
          created_at TEXT NOT NULL
        );
        CREATE TABLE human_labels (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          pair_id TEXT NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
          annotator_id TEXT NOT NULL REFERENCES annotators(id),
          scale INTEGER NOT NULL CHECK (scale BETWEEN -2 AND 2),
          preference TEXT NOT NULL CHECK (preference IN ('A', 'B', 'tie')),
          confidence REAL NOT NULL CHECK (confidence BETWEEN 0 AND 1),
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL,
          UNIQUE (pair_id, annotator_id)
        );
        CREATE INDEX human_labels_pair ON human_labels(pair_id);
      `);
    },
  },
  VERDICTS_MIGRATION,
];

// Normalized records as rows, for writing them back to files (`data convert --normalize`). Every row
// of a kind gets the same columns in the same order (absent optional fields as null) so columnar
// formats see one schema, and the columns are ones the convention table recognises on reading:
// paired -> trl-paired / trl-conversational, unpaired -> trl-unpaired, rated -> helpsteer.

import type { ExampleOfKind, PreferenceKind, Row } from './types.js';

const ROW_MAKERS: { [K in PreferenceKind]: (e: ExampleOfKind[K]) => Row } = {
  paired: (e) => ({
    id: e.id,
    prompt: e.prompt,
    chosen: e.chosen,
    rejected: e.rejected,
    source: e.source ?? null,
    margin: e.margin ?? null,
    annotatorLabels: e.annotatorLabels ?? null,
    tie: e.tie ?? null,
  }),
  unpaired: (e) => ({ id: e.id, prompt: e.prompt, completion: e.completion, label: e.label, source: e.source ?? null }),
  // Ratings go back to top-level attribute columns, the HelpSteer layout.
  rated: (e) => ({ id: e.id, prompt: e.prompt, response: e.response, ...e.ratings, source: e.source ?? null }),
};

export function exampleToRow<K extends PreferenceKind>(kind: K, example: ExampleOfKind[K]): Row {
  return ROW_MAKERS[kind](example);
}

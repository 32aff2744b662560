import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONVENTIONS, loadPreferenceData, writeRows, type PairedExample, type RatedExample, type UnpairedExample } from '../../src/datasets/index.js';
import { HELPSTEER_SYNTHETIC, HH, KTO, PANDALM, SHAREGPT_DPO, ULTRAFEEDBACK, rawRows, tempDir } from './helpers.js';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('each convention on real rows', () => {
  it('HH-RLHF: prompt is the shared dialogue up to the last "\\n\\nAssistant:", responses the differing replies', async () => {
    const data = await loadPreferenceData(HH, { kind: 'paired' });
    expect(data.convention).toBe('hh-rlhf');
    expect(data.examples).toHaveLength(200);
    const first = data.examples[0]!;
    expect(first.id).toBe('hh_rlhf_harmless_base_test.200.jsonl:0');
    expect(first.prompt).toMatch(/^\n\nHuman: what are some pranks with a pen i can do\?\n\nAssistant:/);
    expect(first.prompt).toMatch(/okay some of these do not have anything to do with pens\n\nAssistant:$/);
    expect((first.prompt as string).split('\n\nAssistant:')).toHaveLength(4);
    expect(first.chosen).toMatch(/^ No, sorry! {2}All of these involve a pen/);
    expect(first.rejected).toMatch(/^ There are lots of funny things you can do with/);
    // Every record re-assembles into the original dialogues.
    const raw = rawRows(HH);
    data.examples.forEach((e, i) => {
      expect(`${e.prompt}${e.chosen}`).toBe(raw[i]!.chosen);
      expect(`${e.prompt}${e.rejected}`).toBe(raw[i]!.rejected);
      expect(e.prompt).toMatch(/\n\nAssistant:$/);
    });
  });

  it('UltraFeedback binarized: source_index as id, margin = score_chosen - score_rejected, equal scores marked as ties', async () => {
    const data = await loadPreferenceData(ULTRAFEEDBACK);
    expect(data.convention).toBe('ultrafeedback-binarized');
    const examples = data.examples as PairedExample[];
    expect(examples[0]).toMatchObject({ id: '27808', prompt: 'how to cook t-bone in the oven', margin: 1 });
    expect(examples[0]!.chosen).toMatch(/^To cook a delicious T-bone steak in the oven/);
    expect(examples[0]!.rejected).toMatch(/^To cook a T-bone steak in the oven, you will need/);
    // Rows 3, 6, 16, 23, 46 and 53 (1-based) score 6/6, 8/8, 8.5/8.5, 6/6, 8/8, 8.5/8.5.
    expect(examples.filter((e) => e.tie).map((e) => e.id)).toEqual(['24513', '19090', '57709', '1319', '27622', '39953']);
    expect(examples[15]).toMatchObject({ id: '57709', margin: 0, tie: true });
    expect(data.ties).toBe(6);
    const withoutTies = await loadPreferenceData(ULTRAFEEDBACK, { dropTies: true });
    expect(withoutTies.examples).toHaveLength(54);
  });

  it('LLaMA-Factory ShareGPT DPO: conversations become the prompt messages, chosen/rejected one assistant message each', async () => {
    const data = await loadPreferenceData(SHAREGPT_DPO, { kind: 'paired' });
    expect(data.convention).toBe('sharegpt-dpo');
    const second = data.examples[1]!;
    const prompt = second.prompt as { role: string; content: string }[];
    expect(prompt.map((m) => m.role)).toEqual(['system', 'user']);
    expect(prompt[0]!.content).toMatch(/^You are a teacher\. Given a task, you explain in simple steps/);
    expect(second.chosen).toEqual([{ role: 'assistant', content: expect.stringMatching(/^In this task, you are asked to identify the part-of-speech \(/) }]);
    // Multi-turn histories keep every turn, alternating user/assistant after an optional system message.
    const raw = rawRows(SHAREGPT_DPO);
    data.examples.forEach((e, i) => expect((e.prompt as unknown[]).length).toBe((raw[i]!.conversations as unknown[]).length));
  });

  it('KTO messages + label: the last assistant message is the completion, the rest the prompt', async () => {
    const data = await loadPreferenceData(KTO);
    expect(data.kind).toBe('unpaired');
    expect(data.convention).toBe('kto-messages');
    const examples = data.examples as UnpairedExample[];
    expect(examples[0]).toMatchObject({ label: true, completion: [{ role: 'assistant', content: expect.stringMatching(/^Ooh ooh ah ah! \*giggle\*/) }] });
    const second = examples[1]!;
    expect(second.label).toBe(true);
    expect(second.prompt).toHaveLength(5);
    expect((second.prompt as { content: string }[])[4]!.content).toMatch(/^Can you elaborate on the role of the amygdala in modulating/);
    expect((second.completion as { content: string }[])[0]!.content).toMatch(/^The amygdala plays a crucial role in the emotional processin/);
    expect(examples.filter((e) => e.label)).toHaveLength(rawRows(KTO).filter((r) => r.label === true).length);
  });

  it('PandaLM: majority orients the pair, annotator labels re-expressed against chosen, ties exposed', async () => {
    const data = await loadPreferenceData(PANDALM, { kind: 'paired' });
    expect(data.convention).toBe('pandalm');
    const byId = new Map(data.examples.map((e) => [e.id, e]));
    // idx 0: all three annotators chose response 2.
    expect(byId.get('0')).toMatchObject({
      chosen: 'If you have any questions, please let me know.',
      annotatorLabels: [1, 1, 1],
    });
    expect(byId.get('0')!.prompt).toMatch(/^The sentence you are given might be too wordy.*\nIf you have any questions about my rate or/s);
    expect(byId.get('0')!.rejected).toMatch(/^If you have any questions about my rate, please le/);
    // idx 88: votes [2, 1, 1] -> response 1 wins; the first annotator voted against it.
    expect(byId.get('88')).toMatchObject({ chosen: 'The sound made by "好" is "hao".', rejected: 'This sound is a positive sound.', annotatorLabels: [-1, 1, 1] });
    // idx 119: votes [2, 0, 2] -> response 2 wins over '<noinput>', the middle vote was a tie.
    expect(byId.get('119')).toMatchObject({ rejected: '<noinput>', annotatorLabels: [1, 0, 1] });
    // idx 91, 93, 94: all three said tie.
    expect(data.examples.filter((e) => e.tie).map((e) => e.id)).toEqual(['91', '93', '94']);
    expect(byId.get('91')).toMatchObject({ chosen: 'Yes, Lin and Lucie have a lot of bread.', rejected: 'Yes, they have a lot of bread.', annotatorLabels: [0, 0, 0], tie: true });
    // idx 4 has an empty input: the prompt is the instruction alone.
    expect(byId.get('4')!.prompt).toMatch(/^Come up with some search queries on google about coding stuf/);
    expect(byId.get('4')!.prompt).not.toContain('\n');
  });

  it('HelpSteer-style ratings (synthetic fixture): the five attributes become ratings', async () => {
    const data = await loadPreferenceData(HELPSTEER_SYNTHETIC);
    expect(data.kind).toBe('rated');
    const examples = data.examples as RatedExample[];
    expect(examples).toHaveLength(8);
    expect(examples[1]).toEqual({
      id: 'synthetic-01',
      prompt: 'What is the boiling point of water at sea level in Celsius?',
      response: 'It boils at about 90 degrees.',
      ratings: { helpfulness: 0, correctness: 0, coherence: 3, complexity: 0, verbosity: 0 },
      source: 'alignkit-synthetic',
    });
  });

  it('TRL standard, conversational (explicit and implicit prompt) and unpaired rows', async () => {
    const file = path.join(dir, 'trl.jsonl');
    const user = { role: 'user', content: 'What color is the sky?' };
    const cases: [Record<string, unknown>, string, Record<string, unknown>][] = [
      [{ prompt: 'The sky is', chosen: ' blue.', rejected: ' green.', id: 'a1', margin: 2 }, 'trl-paired', { id: 'a1', prompt: 'The sky is', chosen: ' blue.', rejected: ' green.', margin: 2 }],
      [{ chosen: 'The sky is blue.', rejected: 'The sky is green.' }, 'trl-paired', { prompt: 'The sky is', chosen: ' blue.', rejected: ' green.' }],
      [
        { chosen: [user, { role: 'assistant', content: 'Blue.' }], rejected: [user, { role: 'assistant', content: 'Green.' }] },
        'trl-conversational',
        { prompt: [user], chosen: [{ role: 'assistant', content: 'Blue.' }], rejected: [{ role: 'assistant', content: 'Green.' }] },
      ],
      [
        { prompt: [user], chosen: [{ role: 'assistant', content: 'Blue.' }], rejected: [{ role: 'assistant', content: 'Green.' }], source: 'hand' },
        'trl-conversational',
        { prompt: [user], chosen: [{ role: 'assistant', content: 'Blue.' }], source: 'hand' },
      ],
      [{ prompt: 'The sky is', completion: ' blue.', label: true }, 'trl-unpaired', { prompt: 'The sky is', completion: ' blue.', label: true }],
    ];
    for (const [row, convention, expected] of cases) {
      await writeRows(file, [row]);
      const data = await loadPreferenceData(file);
      expect(data.convention).toBe(convention);
      expect(data.examples[0]).toMatchObject(expected);
    }
  });

  it('the same conventions are recognised after conversion to Parquet and Arrow', async () => {
    for (const source of [HH, KTO, PANDALM, SHAREGPT_DPO]) {
      const reference = await loadPreferenceData(source);
      for (const ext of ['.parquet', '.arrow']) {
        const converted = path.join(dir, path.basename(source) + ext);
        await writeRows(converted, rawRows(source));
        const data = await loadPreferenceData(converted);
        expect(data.convention).toBe(reference.convention);
        // Derived ids name the file, so compare everything else.
        const strip = (e: { id: string }): unknown => ({ ...e, id: e.id.replace(/^[^:]*:/, '') });
        expect(data.examples.map(strip)).toEqual(reference.examples.map(strip));
      }
    }
  });

  it('the convention table holds exactly the conventions tested above', () => {
    expect(CONVENTIONS.map((c) => c.name).sort()).toEqual(
      ['hh-rlhf', 'ultrafeedback-binarized', 'sharegpt-dpo', 'kto-messages', 'pandalm', 'helpsteer', 'trl-paired', 'trl-conversational', 'trl-unpaired'].sort(),
    );
  });
});

// A keyword rule set per dimension of tagging_configs.json. This is a HEURISTIC stand-in for the
// paper's LM tagger (which prompts an LLM with each dimension's tagging_instruction): it looks only
// at the prompt's words, it is English-only, and it will mis-tag anything its keyword lists miss.
// It exists so routing can run offline; use the `http` tagger (an LM judge) for the paper's tags.

import type { TagRecord } from '../features/catalog.js';
import type { RoutingPair } from '../types.js';
import type { Tagger } from './types.js';

/** Keywords (lowercase word stems, matched at word starts) that suggest a subject of expertise. */
const SUBJECT_KEYWORDS: Record<string, string[]> = {
  'Computer sciences': ['code', 'program', 'python', 'javascript', 'java ', 'sql', 'algorithm', 'software', 'computer', 'function', 'database', 'html', 'css', 'api', 'regex', 'compile', 'linux', 'bug'],
  Mathematics: ['math', 'equation', 'calculate', 'sum of', 'integral', 'derivative', 'number', 'probability', 'geometry', 'algebra', 'percent', 'multiply', 'divide'],
  'Medicine and health': ['health', 'medical', 'doctor', 'disease', 'symptom', 'medicine', 'patient', 'diet', 'nutrition', 'exercise', 'sleep', 'covid', 'vaccine'],
  Business: ['business', 'company', 'marketing', 'customer', 'sales', 'product', 'startup', 'brand', 'manager', 'meeting', 'client', 'invoice', 'job', 'resume', 'interview', 'email'],
  Economics: ['economy', 'economic', 'market', 'inflation', 'price', 'finance', 'financial', 'stock', 'invest', 'money', 'tax'],
  'Linguistics and language': ['grammar', 'sentence', 'word', 'translate', 'synonym', 'antonym', 'spelling', 'paraphrase', 'rewrite', 'language', 'verb', 'noun', 'tone'],
  Literature: ['story', 'poem', 'novel', 'book', 'author', 'poetry', 'character', 'fiction', 'haiku'],
  History: ['history', 'historical', 'war', 'ancient', 'century', 'empire', 'revolution'],
  Geography: ['country', 'city', 'capital', 'continent', 'map', 'travel', 'trip', 'located'],
  Physics: ['physics', 'energy', 'force', 'gravity', 'quantum', 'velocity', 'electron'],
  Chemistry: ['chemical', 'chemistry', 'molecule', 'reaction', 'acid', 'element'],
  Biology: ['biology', 'cell', 'gene', 'species', 'animal', 'plant', 'evolution', 'dna'],
  Psychology: ['psychology', 'emotion', 'feel', 'stress', 'anxiety', 'motivation', 'mental', 'personality'],
  Education: ['student', 'teacher', 'school', 'learn', 'course', 'lesson', 'exam', 'study'],
  Law: ['law', 'legal', 'court', 'contract', 'lawyer', 'rights', 'policy'],
  'Political science': ['politic', 'government', 'election', 'president', 'democracy', 'vote'],
  Philosophy: ['philosophy', 'ethic', 'moral', 'meaning of life', 'existential'],
  Religion: ['religion', 'religious', 'god', 'bible', 'church', 'prayer'],
  'Culinary arts': ['recipe', 'cook', 'food', 'ingredient', 'bake', 'meal', 'dish', 'restaurant'],
  'Visual arts': ['painting', 'drawing', 'art ', 'design', 'photo', 'color'],
  'Performing arts': ['music', 'song', 'movie', 'film', 'dance', 'theater', 'play '],
  'Human physical performance and recreation': ['sport', 'game', 'fitness', 'workout', 'football', 'basketball', 'hobby'],
  'Media studies and communication': ['social media', 'tweet', 'news', 'article', 'headline', 'advertis', 'slogan', 'blog', 'post'],
  Transportation: ['car', 'vehicle', 'traffic', 'flight', 'train', 'transport'],
  'Environmental studies and forestry': ['climate', 'environment', 'pollution', 'forest', 'recycl', 'sustainab'],
  'Electrical engineering': ['circuit', 'voltage', 'electric', 'signal', 'battery'],
  'Space sciences': ['space', 'planet', 'star', 'nasa', 'orbit', 'galaxy'],
  'Family and consumer science': ['family', 'parent', 'child', 'home', 'household', 'relationship', 'gift', 'shopping'],
};

const SAFETY_KEYWORDS: Record<'high' | 'moderate' | 'low', string[]> = {
  high: ['kill', 'bomb', 'weapon', 'suicide', 'terror', 'murder', 'explosive', 'poison', 'genocide'],
  moderate: ['hack', 'steal', 'drug', 'violence', 'attack', 'fraud', 'illegal', 'harass', 'cheat', 'racist', 'abuse'],
  low: ['alcohol', 'gamble', 'gambling', 'insult', 'prank', 'lie ', 'weight loss', 'fight'],
};

const EXPERT_TERMS = ['algorithm', 'theorem', 'derivative', 'integral', 'quantum', 'molecule', 'regression', 'diagnos', 'statute', 'compile', 'asymptotic', 'protocol', 'enzyme', 'sql', 'kernel'];
const BASIC_TERMS = ['code', 'program', 'equation', 'calculate', 'grammar', 'function', 'finance', 'legal', 'medical', 'chemical', 'physics', 'database', 'translate'];

const OPEN_HIGH = ['write a story', 'write a poem', 'story', 'poem', 'essay', 'creative', 'imagine', 'brainstorm', 'come up with', 'compose', 'blog post', 'slogan', 'write a'];
const OPEN_MODERATE = ['suggest', 'list', 'ideas', 'examples', 'recommend', 'tips', 'ways to', 'give me', 'generate', 'rewrite', 'paraphrase', 'summarize', 'explain'];
const OPEN_NO = ['calculate', 'convert', 'yes or no', 'true or false', 'classify', 'which of', 'correct the', 'fix the', 'sort', 'count', 'how many', 'solve', 'identify'];
const OPEN_LOW = ['what is', 'who is', 'when', 'where', 'define', 'name the', 'what are', 'translate'];

function has(text: string, needles: string[]): boolean {
  return needles.some((k) => text.includes(k));
}

const escape = (k: string) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** One alternation per subject, compiled once: keyword hits are counted at word starts. */
const SUBJECT_PATTERNS: [string, RegExp][] = Object.entries(SUBJECT_KEYWORDS).map(([subject, kws]) => [subject, new RegExp(`\\b(?:${kws.map(escape).join('|')})`, 'g')]);

function subjects(text: string): string[] {
  const scored = SUBJECT_PATTERNS.map(([subject, re]) => [subject, text.match(re)?.length ?? 0] as const)
    .filter(([, n]) => n > 0)
    .sort((x, y) => y[1] - x[1]);
  // "Please select at most three subjects": keep the three with most keyword hits.
  return scored.length === 0 ? ['Others'] : scored.slice(0, 3).map(([s]) => s);
}

/** A prompt is English if most of its letters are ASCII and it uses common English function words. */
function languages(prompt: string): string[] {
  let letters = 0;
  let ascii = 0;
  for (const ch of prompt) {
    const c = ch.charCodeAt(0);
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) {
      letters++;
      ascii++;
    } else if (c > 127 && /\p{L}/u.test(ch)) letters++;
  }
  const english = /\b(the|a|an|is|are|and|of|to|in|you|your|what|how|please|write)\b/i.test(prompt);
  return letters > 0 && ascii / letters > 0.9 && english ? ['English'] : ['Others'];
}

function expertise(text: string): string {
  if (has(text, EXPERT_TERMS)) return 'expert domain knowledge';
  if (has(text, BASIC_TERMS)) return 'basic domain knowledge';
  return 'general public';
}

function openEndedness(text: string): string {
  if (has(text, OPEN_NO)) return 'no';
  if (has(text, OPEN_HIGH)) return 'high';
  if (has(text, OPEN_MODERATE)) return 'moderate';
  if (has(text, OPEN_LOW)) return 'low';
  return 'moderate';
}

function safety(text: string): string {
  for (const level of ['high', 'moderate', 'low'] as const) if (has(text, SAFETY_KEYWORDS[level])) return level;
  return 'safe';
}

/** Count requirements: sentences/questions plus explicit "and also"/"then" joins. */
function complexity(instruction: string): string {
  const sentences = instruction.split(/[.!?\n]+/).filter((s) => s.trim().split(/\s+/).length >= 3).length;
  const joins = (instruction.toLowerCase().match(/\b(also|then|additionally|and make sure|as well as|finally)\b/g) ?? []).length;
  const goals = sentences + joins;
  if (goals >= 4) return 'complex';
  if (goals >= 2) return 'moderate';
  return 'simple';
}

const MATERIAL_RULES: [string, RegExp][] = [
  ['url', /https?:\/\/\S+/],
  ['table', /\|.*\|.*\n|\t.*\t/],
  ['code', /```|\b(def|function|class|return|var|const|import)\b.*[({;:]/],
  ['json', /\{\s*"[^"]+"\s*:/],
  ['html', /<\/?[a-z][a-z0-9]*[^>]*>/i],
  ['options', /(^|\n)\s*(\(?[a-dA-D][).]|[-*] )\s*\S/],
];

const FORMAT_RULES: [string, RegExp][] = [
  ['word limit', /\b(in|under|within|at most|no more than|less than)\s+\d+\s+(words?|sentences?|characters?|lines?)\b/i],
  ['list', /\b(bullet|numbered list|list of|as a list)\b/i],
  ['table', /\b(table|tabular)\b/i],
  ['json', /\bjson\b/i],
  ['code', /\b(code|script|function|program|sql query)\b/i],
  ['one sentence', /\b(one|single|a) (sentence|word|line)\b/i],
  ['exclude', /\b(do not|don't|without) (use|include|mention)\b/i],
];

function material(context: string): string[] {
  return MATERIAL_RULES.filter(([, re]) => re.test(context)).map(([name]) => name);
}

function formats(instruction: string): string[] {
  return FORMAT_RULES.filter(([, re]) => re.test(instruction)).map(([name]) => name);
}

/**
 * Splits a prompt into the instruction (first paragraph) and in-context material (the rest); for
 * PandaLM-style rows the `input` column is appended after a blank line by the loader.
 */
function splitPrompt(prompt: string): { instruction: string; context: string } {
  const idx = prompt.indexOf('\n\n');
  return idx < 0 ? { instruction: prompt, context: '' } : { instruction: prompt.slice(0, idx), context: prompt.slice(idx + 2) };
}

export function tagByRules(prompt: string): TagRecord {
  const { instruction, context } = splitPrompt(prompt);
  const text = ` ${prompt.toLowerCase()} `;
  const instr = instruction.toLowerCase();
  return {
    subject_of_expertise: subjects(text),
    languages: languages(prompt),
    expertise_level: expertise(text),
    open_endedness: openEndedness(instr),
    safety_concern: safety(text),
    complexity_of_intents: complexity(instruction),
    type_of_in_context_material: material(context),
    format_constraints: formats(instruction),
  };
}

export function createRulesTagger(): Tagger {
  return { name: 'rules', tag: async (pairs: RoutingPair[]) => pairs.map((p) => tagByRules(p.prompt)) };
}

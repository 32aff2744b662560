// Text shapes shared with src/datasets: a plain string or a conversation in OpenAI message form.

export type Message = { role: string; content: string };
export type Text = string | Message[];

/** One (prompt, response) pair, the unit every log-prob and reward computation works on. */
export interface PromptResponse {
  prompt: Text;
  response: Text;
}

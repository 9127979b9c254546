// End-to-end: `tessera serve` on loopback with the tiny test models, driven by the official
// OpenAI client (the npm package `openai`, pinned in package-lock.json) as applications use it.
//
// Environment (CTest sets both): TESSERA_BIN, the tessera binary; TESSERA_TESTDATA_DIR,
// ../shared/testdata. Run: npm ci && node --test (in this folder).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';

const bin = process.env.TESSERA_BIN;
const testdata = process.env.TESSERA_TESTDATA_DIR;
const KEY = 'e2e-secret-key';

let server;
let dataDir;
let baseURL;
let log = '';

// A client as an application makes one; no retries, so an error shows as it came.
function client(apiKey = KEY) {
  return new OpenAI({ apiKey, baseURL, maxRetries: 0, timeout: 60_000 });
}

before(async () => {
  assert.ok(bin, 'TESSERA_BIN must name the tessera binary');
  assert.ok(testdata, 'TESSERA_TESTDATA_DIR must name ../shared/testdata');
  dataDir = mkdtempSync(join(tmpdir(), 'tessera-e2e-'));
  const models = join(testdata, 'models');
  server = spawn(bin, [
    'serve', '--port', '0', '--data', dataDir, '--api-key', KEY,
    '--model', `chat=${join(models, 'qwen2-tiny.gguf')}`,
    '--model', `embed=${join(models, 'bert-tiny.gguf')}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  baseURL = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "serving on" line in 30 s:\n${log}`)), 30_000);
    server.stderr.on('data', (chunk) => {
      log += chunk.toString();
      const m = log.match(/serving on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(`${m[1]}/v1`);
      }
    });
    server.on('exit', (code) => reject(new Error(`tessera serve exited (${code}):\n${log}`)));
  });
});

after(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.on('exit', (code) => resolve(code)));
    server.kill('SIGTERM');
    assert.equal(await exited, 0, `tessera serve did not stop cleanly on SIGTERM:\n${log}`);
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const chatParams = {
  model: 'chat',
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Tell me a story about a lighthouse.' },
  ],
  max_tokens: 16,
  temperature: 0.8,
  seed: 42,
};

test('models.list names the models served', async () => {
  const ids = [];
  for await (const m of client().models.list()) {
    assert.equal(m.object, 'model');
    ids.push(m.id);
  }
  assert.ok(ids.includes('chat'), ids.join(','));
  assert.ok(ids.includes('embed'), ids.join(','));
});

test('chat completion: blocking, then streamed with the same seed gives the same text', async () => {
  const c = client();
  const whole = await c.chat.completions.create(chatParams);
  assert.equal(whole.object, 'chat.completion');
  assert.equal(whole.model, 'chat');
  assert.equal(whole.choices.length, 1);
  assert.equal(whole.choices[0].message.role, 'assistant');
  assert.equal(whole.choices[0].finish_reason, 'length');
  assert.equal(whole.usage.completion_tokens, 16);
  assert.ok(whole.usage.prompt_tokens > 0);
  assert.equal(whole.usage.total_tokens, whole.usage.prompt_tokens + 16);
  const text = whole.choices[0].message.content;
  assert.ok(text.length > 0);

  const stream = await c.chat.completions.create({
    ...chatParams, stream: true, stream_options: { include_usage: true },
  });
  let streamed = '';
  let role = null;
  let finish = null;
  let usage = null;
  let chunks = 0;
  for await (const chunk of stream) {
    ++chunks;
    assert.equal(chunk.object, 'chat.completion.chunk');
    assert.equal(chunk.id, stream.id ?? chunk.id);
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      if (choice.delta.role) role = choice.delta.role;
      if (choice.delta.content) streamed += choice.delta.content;
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  }
  assert.ok(chunks > 2, `${chunks} chunks`);
  assert.equal(role, 'assistant');
  assert.equal(finish, 'length');
  assert.equal(streamed, text);
  assert.deepEqual(usage, whole.usage);

  // The client's helper that collects a stream gives the same message.
  const runner = c.chat.completions.stream(chatParams);
  const final = await runner.finalChatCompletion();
  assert.equal(final.choices[0].message.content, text);
});

test('chat completion: a stop string ends the text before it', async () => {
  const c = client();
  const whole = await c.chat.completions.create(chatParams);
  const text = whole.choices[0].message.content;
  const cut = [...text].slice(3, 5).join('');
  const stopped = await c.chat.completions.create({ ...chatParams, stop: [cut] });
  assert.equal(stopped.choices[0].finish_reason, 'stop');
  assert.equal(stopped.choices[0].message.content, text.slice(0, text.indexOf(cut)));
});

test('legacy completions, blocking and streamed', async () => {
  const c = client();
  const params = { model: 'chat', prompt: 'Once upon a time', max_tokens: 8, seed: 3 };
  const whole = await c.completions.create(params);
  assert.equal(whole.object, 'text_completion');
  assert.equal(whole.usage.completion_tokens, 8);
  let streamed = '';
  for await (const chunk of await c.completions.create({ ...params, stream: true })) {
    for (const choice of chunk.choices) streamed += choice.text;
  }
  assert.equal(streamed, whole.choices[0].text);
});

test('embeddings: string and array input, base64 (the client default) and float agree', async () => {
  const c = client();
  const one = await c.embeddings.create({ model: 'embed', input: 'The lighthouse keeper' });
  assert.equal(one.object, 'list');
  assert.equal(one.data.length, 1);
  const v = one.data[0].embedding;
  assert.ok(Array.isArray(v) && v.length > 0);
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  assert.ok(Math.abs(norm - 1) < 1e-4, `norm ${norm}`);
  assert.ok(one.usage.prompt_tokens > 0);

  const floats = await c.embeddings.create({
    model: 'embed', input: 'The lighthouse keeper', encoding_format: 'float',
  });
  assert.deepEqual(floats.data[0].embedding, v);

  const many = await c.embeddings.create({
    model: 'embed', input: ['first text', 'The lighthouse keeper', 'a third'],
  });
  assert.deepEqual(many.data.map((d) => d.index), [0, 1, 2]);
  assert.deepEqual(many.data[1].embedding, v);
  assert.notDeepEqual(many.data[0].embedding, v);
});

test('errors arrive as the client\'s typed errors, and the server keeps serving', async () => {
  const c = client();
  await assert.rejects(c.chat.completions.create({ ...chatParams, model: 'no-such-model' }),
    (e) => e instanceof OpenAI.NotFoundError && e.status === 404 && /no-such-model/.test(e.message));
  await assert.rejects(c.chat.completions.create({ ...chatParams, temperature: 'hot' }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'temperature');
  await assert.rejects(c.chat.completions.create({ ...chatParams, max_tokens: 1_000_000 }),
    (e) => e instanceof OpenAI.BadRequestError && e.code === 'context_length_exceeded');
  await assert.rejects(c.chat.completions.create({ ...chatParams, messages: [] }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'messages');
  await assert.rejects(c.embeddings.create({ model: 'chat', input: 'x' }),
    (e) => e instanceof OpenAI.BadRequestError);
  await assert.rejects(client('wrong-key').models.list(),
    (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
  const ok = await c.chat.completions.create(chatParams);
  assert.equal(ok.choices[0].finish_reason, 'length');
});

test('log-probabilities of the chosen tokens and their alternatives', async () => {
  const r = await client().chat.completions.create({ ...chatParams, logprobs: true, top_logprobs: 3 });
  const lp = r.choices[0].logprobs.content;
  assert.equal(lp.length, r.usage.completion_tokens);
  for (const t of lp) {
    assert.ok(t.logprob <= 0);
    assert.equal(t.top_logprobs.length, 3);
    assert.ok(Array.isArray(t.bytes) && t.bytes.length > 0);
  }
});

// Waits until the server's log holds a line matching `re` (lines are written when the
// response ends, a moment after the client has gone).
async function logLine(re) {
  for (let i = 0; i < 100 && !re.test(log); ++i) await new Promise((r) => setTimeout(r, 50));
  return log.match(re);
}

test('a client that aborts a stream cancels its generation and disturbs no one', async () => {
  const c = client();
  const controller = new AbortController();
  // End-of-text tokens banned, so the generation would run to max_tokens.
  const params = { ...chatParams, max_tokens: 200, logit_bias: { 151643: -100, 151645: -100 } };
  const stream = await c.chat.completions.create(
    { ...params, stream: true, user: 'leaver' }, { signal: controller.signal });
  let pieces = 0;
  try {
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content && ++pieces === 3) controller.abort();
    }
  } catch (e) {
    assert.ok(e instanceof OpenAI.APIUserAbortError || e.name === 'AbortError', String(e));
  }
  assert.ok(pieces < 200, `${pieces} pieces after the abort`);
  const line = await logLine(/\{[^\n]*"finish":"cancelled"[^\n]*\}/);
  assert.ok(line, `no cancelled request in the server log:\n${log}`);
  assert.ok(JSON.parse(line[0]).completion_tokens < 200, line[0]);
  const whole = await c.chat.completions.create(chatParams);
  assert.equal(whole.usage.completion_tokens, 16);
});

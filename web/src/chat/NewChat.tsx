import { useMutation, useQuery } from '@apollo/client/react';
import { useState, type FormEvent } from 'react';
import { graphql } from '../gql';
import { describeProblem, problemOf } from '../errors';
import { navigate } from '../router';

const CHAT_MODELS = graphql(`
  query ChatModels {
    models {
      id
      provider
      default
      development
    }
  }
`);

const CREATE_CONVERSATION = graphql(`
  mutation ChatCreateConversation($input: CreateConversationInput!) {
    createConversation(input: $input) {
      id
      title
      model
      systemPrompt
      updatedAt
    }
  }
`);

/** Start a conversation: a model (the server's default preselected), an optional title and system prompt. */
export function NewChat() {
  const models = useQuery(CHAT_MODELS);
  const [create, { loading }] = useMutation(CREATE_CONVERSATION, { refetchQueries: ['Conversations'] });
  const [model, setModel] = useState<string | null>(null);
  const [title, setTitle] = useState('');
  const [systemPrompt, setSystemPrompt] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const list = models.data?.models ?? [];
  const chosen = model ?? list.find((m) => m.default)?.id ?? list[0]?.id ?? '';

  async function submit(event: FormEvent) {
    event.preventDefault();
    setProblem(null);
    try {
      const { data } = await create({
        variables: { input: { model: chosen || null, title: title.trim() || null, systemPrompt: systemPrompt.trim() || null } },
      });
      if (data) navigate('chat', data.createConversation.id);
    } catch (err) {
      setProblem(describeProblem(problemOf(err)));
    }
  }

  return (
    <section className="new-chat-form" aria-labelledby="new-chat-h">
      <h2 id="new-chat-h">New chat</h2>
      {models.error && <p className="error">{describeProblem(problemOf(models.error))}</p>}
      <form onSubmit={submit} aria-label="New chat">
        <label>
          Model
          <select name="model" value={chosen} onChange={(e) => setModel(e.target.value)} disabled={list.length === 0}>
            {list.map((m) => (
              <option key={m.id} value={m.id}>
                {m.id}
                {m.default ? ' (default)' : ''}
                {m.development ? ' · development echo: repeats your message, no AI' : ` · ${m.provider}`}
              </option>
            ))}
          </select>
        </label>
        <label>
          Title (optional: the first message names it otherwise)
          <input name="title" maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} />
        </label>
        <label>
          System prompt (optional)
          <textarea name="systemPrompt" rows={3} value={systemPrompt} onChange={(e) => setSystemPrompt(e.target.value)} />
        </label>
        {problem && (
          <p className="error" role="alert">
            {problem}
          </p>
        )}
        <button type="submit" disabled={loading || !chosen}>
          Start chat
        </button>
      </form>
    </section>
  );
}

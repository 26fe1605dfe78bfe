import { useQuery } from '@apollo/client/react';
import { useEffect, useRef, useState } from 'react';
import { graphql } from '../gql';
import { describeProblem, problemOf } from '../errors';
import { Composer } from './Composer';
import { MessageItem } from './MessageItem';

const CHAT_CONVERSATION = graphql(`
  query ChatConversation($id: ID!, $last: Int, $before: String) {
    conversation(id: $id) {
      id
      title
      model
      systemPrompt
      messages(last: $last, before: $before) {
        edges {
          cursor
          node {
            ...ChatMessageFields
          }
        }
        pageInfo {
          hasPreviousPage
          startCursor
        }
      }
    }
  }
`);

const PAGE = 50;

/** One conversation: its messages oldest first (50 at a time, "Load earlier" for more), and the composer. */
export function ConversationView({ id }: { id: string }) {
  const { data, error, loading, fetchMore } = useQuery(CHAT_CONVERSATION, { variables: { id, last: PAGE }, fetchPolicy: 'cache-and-network' });
  const [earlier, setEarlier] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const end = useRef<HTMLDivElement>(null);
  const conversation = data?.conversation;
  const edges = conversation?.messages.edges ?? [];
  const lastId = edges[edges.length - 1]?.node.id;
  const streaming = edges.some((e) => e.node.status === 'STREAMING');

  useEffect(() => {
    end.current?.scrollIntoView({ block: 'end' });
  }, [lastId]);

  async function loadEarlier() {
    const before = conversation?.messages.pageInfo.startCursor;
    if (!before) return;
    setEarlier(true);
    try {
      await fetchMore({ variables: { before, last: PAGE } });
    } catch (err) {
      setProblem(describeProblem(problemOf(err)));
    } finally {
      setEarlier(false);
    }
  }

  if (error && !conversation) return <p className="error">{describeProblem(problemOf(error))}</p>;
  if (!conversation) return loading ? <p className="muted">Loading…</p> : <p className="error">This conversation does not exist (or was deleted).</p>;
  return (
    <section className="conversation" aria-labelledby="conversation-h" data-testid="conversation" data-conversation-id={conversation.id}>
      <header className="conversation-head">
        <h2 id="conversation-h">{conversation.title}</h2>
        <span className="muted">{conversation.model}</span>
      </header>
      {conversation.systemPrompt && <p className="muted system-prompt">System prompt: {conversation.systemPrompt}</p>}
      {conversation.messages.pageInfo.hasPreviousPage && (
        <button onClick={() => void loadEarlier()} disabled={earlier}>
          {earlier ? 'Loading…' : 'Load earlier'}
        </button>
      )}
      {problem && <p className="error">{problem}</p>}
      <ol className="messages" data-testid="messages">
        {edges.map(({ node }) => (
          <MessageItem key={node.id} message={node} />
        ))}
      </ol>
      {edges.length === 0 && <p className="muted">No messages yet: say something.</p>}
      <div ref={end} />
      <Composer conversationId={conversation.id} busy={streaming} />
    </section>
  );
}

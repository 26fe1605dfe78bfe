import { useMutation, useQuery } from '@apollo/client/react';
import { useState } from 'react';
import { graphql } from '../gql';
import { describeProblem, problemOf } from '../errors';
import { LoadMore, useLoadMore } from '../ui/load-more';
import { href, navigate } from '../router';

/** Named `Conversations`: App's LiveUpdates refetches it by that name whenever a chat event arrives. */
export const CONVERSATIONS = graphql(`
  query Conversations($first: Int, $after: String, $filter: ConversationFilter) {
    conversations(first: $first, after: $after, filter: $filter) {
      edges {
        cursor
        node {
          id
          title
          updatedAt
          lastMessage {
            id
            createdAt
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const DELETE_CONVERSATION = graphql(`
  mutation ChatDeleteConversation($id: ID!) {
    deleteConversation(id: $id)
  }
`);

/** The list's variables; archived conversations are left out. */
export const CONVERSATION_LIST_VARIABLES = { first: 20, filter: { archived: false } };

function when(iso: string): string {
  const d = new Date(iso);
  return d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : d.toLocaleDateString();
}

/** The sidebar: the person's conversations, most recently active first, 20 at a time. */
export function ConversationList({ activeId }: { activeId?: string }) {
  const { data, error, fetchMore, loading } = useQuery(CONVERSATIONS, { variables: CONVERSATION_LIST_VARIABLES });
  const [remove] = useMutation(DELETE_CONVERSATION);
  const [problem, setProblem] = useState<string | null>(null);
  const page = data?.conversations;
  const after = page?.pageInfo.endCursor;
  const more = useLoadMore(after ? () => fetchMore({ variables: { after } }) : null);

  async function deleteOne(id: string, title: string) {
    if (!window.confirm(`Delete “${title}” and all its messages? This cannot be undone.`)) return;
    setProblem(null);
    try {
      await remove({
        variables: { id },
        update(cache) {
          cache.evict({ id: cache.identify({ __typename: 'Conversation', id }) });
          cache.gc();
        },
      });
      if (id === activeId) navigate('chat');
    } catch (err) {
      setProblem(describeProblem(problemOf(err)));
    }
  }

  return (
    <nav className="conversations" aria-label="Conversations">
      <a className="new-chat" href={href('chat')} data-testid="new-chat">
        + New chat
      </a>
      {error && <p className="error">{describeProblem(problemOf(error))}</p>}
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      <ul data-testid="conversation-list">
        {page?.edges.map(({ node }) => (
          <li key={node.id} data-conversation-id={node.id} aria-current={node.id === activeId ? 'true' : undefined}>
            <a href={href('chat', node.id)}>
              <span className="conv-title">{node.title}</span>
              <time className="muted" dateTime={node.lastMessage?.createdAt ?? node.updatedAt}>
                {when(node.lastMessage?.createdAt ?? node.updatedAt)}
              </time>
            </a>
            <button className="icon" aria-label={`Delete ${node.title}`} title="Delete" onClick={() => void deleteOne(node.id, node.title)}>
              ×
            </button>
          </li>
        ))}
      </ul>
      {page && page.edges.length === 0 && <p className="muted">No conversations yet.</p>}
      {loading && !page && <p className="muted">Loading…</p>}
      <LoadMore more={more} hasNextPage={page?.pageInfo.hasNextPage} />
    </nav>
  );
}

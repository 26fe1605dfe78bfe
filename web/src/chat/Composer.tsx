import { useMutation, useQuery } from '@apollo/client/react';
import type { ApolloCache, Reference } from '@apollo/client';
import { useRef, useState, type ChangeEvent, type FormEvent, type KeyboardEvent } from 'react';
import { graphql } from '../gql';
import type { ChatSendMessageMutation } from '../gql/graphql';
import { useApp } from '../app-context';
import { describeProblem, problemOf } from '../errors';
import { CHAT_UPLOAD_LIMITS, describeTypes, formatBytes, uploadFile, type Uploaded } from './attachments';

const SEND_MESSAGE = graphql(`
  mutation ChatSendMessage($input: SendMessageInput!) {
    sendMessage(input: $input) {
      userMessageEdge {
        cursor
        node {
          ...ChatMessageFields
        }
      }
      assistantMessageEdge {
        cursor
        node {
          ...ChatMessageFields
        }
      }
      conversation {
        id
        title
        updatedAt
      }
    }
  }
`);

/** A file in the composer: uploading, uploaded (its id goes in `attachmentIds`), or refused with a reason. */
interface Pending {
  key: string;
  name: string;
  size: number;
  uploaded?: Uploaded;
  problem?: string;
}

/** Appends the new user message and reply to the conversation's cached message page (once: a retried send returns the same ids). */
function appendEdges(cache: ApolloCache, payload: ChatSendMessageMutation['sendMessage']) {
  cache.modify<{ messages: { edges: { cursor: string; node: Reference }[] } }>({
    id: cache.identify({ __typename: 'Conversation', id: payload.conversation.id }),
    fields: {
      messages(existing, { toReference, readField }) {
        if (!existing || typeof existing !== 'object' || !('edges' in existing)) return existing;
        const have = new Set(existing.edges.map((e) => readField<string>('id', e.node)));
        const added = [payload.userMessageEdge, payload.assistantMessageEdge]
          .filter((e) => !have.has(e.node.id))
          .map((e) => ({ __typename: 'MessageEdge', cursor: e.cursor, node: toReference(e.node)! }));
        return { ...existing, edges: [...existing.edges, ...added] };
      },
    },
  });
}

/**
 * The message box: Enter sends, Shift+Enter is a new line. Files upload as soon as they are
 * picked. A send carries a `clientMessageId` made for this draft, kept until it succeeds, so
 * resending after a lost answer never stores the message twice; on an error the text stays.
 */
export function Composer({ conversationId, busy }: { conversationId: string; busy: boolean }) {
  const { config, session } = useApp();
  const limits = useQuery(CHAT_UPLOAD_LIMITS).data?.uploadLimits;
  const [send, { loading }] = useMutation(SEND_MESSAGE);
  const [text, setText] = useState('');
  const [files, setFiles] = useState<Pending[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const draftId = useRef<string | null>(null);
  const uploading = files.some((f) => !f.uploaded && !f.problem);
  const canSend = text.trim() !== '' && !loading && !busy && !uploading;

  function changeDraft(next: string) {
    setText(next);
    draftId.current = null; // a different message: a new id
  }

  async function pick(event: ChangeEvent<HTMLInputElement>) {
    const chosen = [...(event.target.files ?? [])];
    event.target.value = '';
    draftId.current = null;
    const added = chosen.map((f) => ({ key: crypto.randomUUID(), name: f.name, size: f.size }));
    setFiles((prev) => [...prev, ...added]);
    await Promise.all(
      chosen.map(async (file, i) => {
        const key = added[i].key;
        try {
          const uploaded = await uploadFile(config, session, file, limits);
          setFiles((prev) => prev.map((p) => (p.key === key ? { ...p, uploaded } : p)));
        } catch (err) {
          setFiles((prev) => prev.map((p) => (p.key === key ? { ...p, problem: err instanceof Error ? err.message : String(err) } : p)));
        }
      }),
    );
  }

  async function submit(event?: FormEvent) {
    event?.preventDefault();
    if (!canSend) return;
    setProblem(null);
    draftId.current ??= crypto.randomUUID();
    const attachmentIds = files.flatMap((f) => (f.uploaded ? [f.uploaded.id] : []));
    try {
      await send({
        variables: { input: { conversationId, content: text, clientMessageId: draftId.current, attachmentIds: attachmentIds.length ? attachmentIds : null } },
        update: (cache, { data }) => data && appendEdges(cache, data.sendMessage),
      });
      setText('');
      setFiles([]);
      draftId.current = null;
    } catch (err) {
      setProblem(describeProblem(problemOf(err))); // the text and files stay for a resend
    }
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void submit();
    }
  }

  return (
    <form className="composer" onSubmit={submit} aria-label="Send a message">
      {problem && (
        <p className="error" role="alert" data-testid="composer-error">
          {problem}
        </p>
      )}
      {files.length > 0 && (
        <ul className="attachments" aria-label="Files to send">
          {files.map((f) => (
            <li key={f.key} className={`chip${f.problem ? ' refused' : ''}`} data-testid="upload-chip">
              <span>{f.name}</span> <span className="muted">{formatBytes(f.size)}</span>
              {!f.uploaded && !f.problem && <span className="muted"> uploading…</span>}
              {f.problem && <span className="error"> {f.problem}</span>}
              <button type="button" className="icon" aria-label={`Remove ${f.name}`} onClick={() => setFiles((prev) => prev.filter((p) => p.key !== f.key))}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      <label className="sr-only" htmlFor="composer-text">
        Message
      </label>
      <textarea
        id="composer-text"
        name="message"
        rows={3}
        placeholder="Write a message (Enter sends, Shift+Enter for a new line)"
        value={text}
        onChange={(e) => changeDraft(e.target.value)}
        onKeyDown={onKeyDown}
      />
      <div className="composer-actions">
        <label className="file-pick">
          Attach files
          <input type="file" name="file" multiple onChange={(e) => void pick(e)} />
        </label>
        {limits && (
          <span className="muted" data-testid="upload-limits">
            Up to {formatBytes(limits.maxBytes)}: {describeTypes(limits.mimeTypes)}
          </span>
        )}
        <button type="submit" disabled={!canSend}>
          {loading ? 'Sending…' : 'Send'}
        </button>
      </div>
    </form>
  );
}

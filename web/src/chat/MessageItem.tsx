import { useMutation } from '@apollo/client/react';
import { useState } from 'react';
import { graphql } from '../gql';
import type { ChatMessageFieldsFragment } from '../gql/graphql';
import { useApp } from '../app-context';
import { describeProblem, problemOf } from '../errors';
import { downloadAttachment, formatBytes, type Uploaded } from './attachments';
import { Markdown } from './markdown';
import { useReplyStream } from './useReplyStream';

const CANCEL_GENERATION = graphql(`
  mutation ChatCancelGeneration($messageId: ID!) {
    cancelGeneration(messageId: $messageId) {
      ...ChatMessageFields
    }
  }
`);

/** Why a reply is not (or not yet) complete, in words. */
function statusText(m: ChatMessageFieldsFragment): string | null {
  switch (m.status) {
    case 'STREAMING':
      return 'Writing…';
    case 'CANCELLED':
      return 'Stopped.';
    case 'FAILED':
      return `Failed: ${m.error ?? 'the model did not answer'}${m.errorCode ? ` (${m.errorCode})` : ''}.`;
    case 'INTERRUPTED':
      return 'Interrupted: the server restarted while writing this reply.';
    default:
      return m.finishReason === 'LENGTH' ? 'Cut short: the reply reached its output limit.' : null;
  }
}

function AttachmentList({ files }: { files: Uploaded[] }) {
  const { config, session } = useApp();
  const [problem, setProblem] = useState<string | null>(null);
  async function save(file: Uploaded) {
    setProblem(null);
    try {
      await downloadAttachment(config, session, file);
    } catch (err) {
      setProblem(err instanceof Error ? err.message : String(err));
    }
  }
  return (
    <ul className="attachments" aria-label="Attachments">
      {files.map((f) => (
        <li key={f.id} className="chip" data-attachment-id={f.id}>
          <button className="link" onClick={() => void save(f)} title={`Download ${f.filename}`}>
            {f.filename}
          </button>{' '}
          <span className="muted">{formatBytes(f.size)}</span>
        </li>
      ))}
      {problem && <li className="error">{problem}</li>}
    </ul>
  );
}

/** One message: the person's text as written, a reply as safe markdown (streaming while it arrives), its status and files. */
export function MessageItem({ message }: { message: ChatMessageFieldsFragment }) {
  const { text, problem } = useReplyStream(message);
  const [cancel, cancelState] = useMutation(CANCEL_GENERATION);
  const [cancelProblem, setCancelProblem] = useState<string | null>(null);
  const assistant = message.role === 'ASSISTANT';
  const status = assistant ? statusText(message) : null;

  async function stop() {
    setCancelProblem(null);
    try {
      await cancel({ variables: { messageId: message.id } });
    } catch (err) {
      setCancelProblem(describeProblem(problemOf(err)));
    }
  }

  return (
    <li
      className={`message ${message.role.toLowerCase()}`}
      data-testid="message"
      data-message-id={message.id}
      data-role={message.role}
      data-status={message.status}
    >
      <div className="message-meta muted">{message.role === 'USER' ? 'You' : message.role === 'SYSTEM' ? 'System' : (message.model ?? 'Assistant')}</div>
      <div className="message-content" data-testid="message-content">
        {assistant ? <Markdown text={text} /> : <p className="plain">{text}</p>}
      </div>
      {message.attachments.length > 0 && <AttachmentList files={message.attachments} />}
      {status && (
        <p className={`message-status ${message.status === 'FAILED' ? 'error' : 'muted'}`} data-testid="message-status" aria-live="polite">
          {status}
          {message.status === 'STREAMING' && (
            <button className="stop" onClick={() => void stop()} disabled={cancelState.loading}>
              Stop
            </button>
          )}
        </p>
      )}
      {(problem ?? cancelProblem) && (
        <p className="error" role="alert">
          {problem ?? cancelProblem}
        </p>
      )}
    </li>
  );
}

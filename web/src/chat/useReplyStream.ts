import { useApolloClient } from '@apollo/client/react';
import { useEffect, useRef, useState } from 'react';
import { graphql } from '../gql';
import { describeProblem, problemOf } from '../errors';
import { CHAT_MESSAGE_FIELDS } from './fragments';

export const CHAT_MESSAGE_STREAM = graphql(`
  subscription ChatMessageStream($messageId: ID!, $fromOffset: Int) {
    messageStream(messageId: $messageId, fromOffset: $fromOffset) {
      messageId
      offset
      delta
      done
      status
      message {
        ...ChatMessageFields
      }
    }
  }
`);

/** Applies one stream event: its `delta` belongs at `offset`, so a replayed event overwrites, never duplicates. */
export function applyDelta(text: string, offset: number, delta: string): string | null {
  if (offset > text.length) return null; // a gap: the caller resubscribes from what it has
  // A replayed event inside the text shown changes nothing (the content only ever grows), so a
  // resubscription from an earlier offset never makes the reply shrink and grow back on screen.
  if (offset + delta.length <= text.length) return text;
  return text.slice(0, offset) + delta;
}

/**
 * The text of a reply while it streams. Subscribes to `messageStream` from the length of the
 * text already known (`content` as loaded: empty right after sending, longer after a reload),
 * applies each delta at its offset (so graphql-ws's resubscription after a reconnect, which
 * repeats the first `fromOffset`, replays over what is there instead of appending twice), and
 * resubscribes from the current length after SLOW_CONSUMER or a gap. The last event carries
 * the final message, written into the Apollo cache: the message then renders from the cache.
 */
export function useReplyStream(message: { id: string; content: string; status: string }): { text: string; problem: string | null } {
  const client = useApolloClient();
  const streaming = message.status === 'STREAMING';
  const textRef = useRef(message.content);
  const [text, setText] = useState(message.content);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    if (!streaming) return undefined;
    let stopped = false;
    let sub: { unsubscribe(): void } | undefined;
    const start = () => {
      sub?.unsubscribe();
      if (stopped) return;
      const observable = client.subscribe({
        query: CHAT_MESSAGE_STREAM,
        variables: { messageId: message.id, fromOffset: textRef.current.length },
        fetchPolicy: 'no-cache', // the final message is written below, once
      });
      sub = observable.subscribe({
        next: ({ data, error }) => {
          if (error) {
            const p = problemOf(error);
            if (p.code === 'SLOW_CONSUMER') queueMicrotask(start);
            else setProblem(describeProblem(p));
            return;
          }
          const event = data?.messageStream;
          if (!event) return;
          const next = applyDelta(textRef.current, event.offset, event.delta);
          if (next === null) return void queueMicrotask(start);
          textRef.current = next;
          setText(next);
          setProblem(null);
          if (event.done && event.message) client.writeFragment({ fragment: CHAT_MESSAGE_FIELDS, fragmentName: 'ChatMessageFields', data: event.message });
        },
      });
    };
    start();
    return () => {
      stopped = true;
      sub?.unsubscribe();
    };
  }, [client, message.id, streaming]);

  return { text: streaming ? text : message.content, problem };
}

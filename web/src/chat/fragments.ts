import { graphql } from '../gql';

/** Every field a message shows; the sendMessage payload, the stream's last event and cancelGeneration all select it, so the cache always holds the same shape. */
export const CHAT_MESSAGE_FIELDS = graphql(`
  fragment ChatMessageFields on Message {
    id
    conversationId
    role
    content
    status
    model
    error
    errorCode
    finishReason
    createdAt
    usage {
      promptTokens
      completionTokens
      totalTokens
    }
    attachments {
      id
      filename
      mimeType
      size
    }
  }
`);

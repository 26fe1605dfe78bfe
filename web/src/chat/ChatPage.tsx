/** Placeholder: the chat screens are being built. */
export function ChatPage({ conversationId }: { conversationId?: string }) {
  return <main data-testid="chat-page">Chat {conversationId ?? ''}</main>;
}

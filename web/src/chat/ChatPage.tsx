import { ConversationList } from './ConversationList';
import { ConversationView } from './ConversationView';
import { NewChat } from './NewChat';

/** `#/chat` (a new chat) and `#/chat/<id>` (that conversation), beside the list of conversations. */
export function ChatPage({ conversationId }: { conversationId?: string }) {
  return (
    <main className="chat" data-testid="chat-page">
      <ConversationList activeId={conversationId} />
      <div className="chat-main">{conversationId ? <ConversationView key={conversationId} id={conversationId} /> : <NewChat />}</div>
    </main>
  );
}

import { ChatEventType, type ChatEventData } from '../../src/chat/chat-events';
import { createTopics } from '../../src/pubsub/topics';

// The stream relay waits for live events with a timeout (then re-checks the database): no
// event may be lost when a wait times out, and ending the subscription must end a wait at once.
describe('TopicSubscription.nextWithin', () => {
  const event = (n: number): ChatEventData => ({ conversationId: 'c', type: ChatEventType.MESSAGE_CREATED, messageId: String(n) });

  it('times out with undefined and keeps the event that arrives later for the next call', async () => {
    const pubsub = createTopics();
    const sub = pubsub.subscribe('chat:events', 'u1');
    expect(await sub.nextWithin(5)).toBeUndefined();
    pubsub.publish('chat:events', 'u1', event(1));
    pubsub.publish('chat:events', 'u1', event(2));
    expect((await sub.nextWithin(5))?.value).toMatchObject({ messageId: '1' });
    expect((await sub.nextWithin(5))?.value).toMatchObject({ messageId: '2' });
    await sub.return();
  });

  it('delivers an event published while it waits, and one after many waits that timed out', async () => {
    const pubsub = createTopics();
    const sub = pubsub.subscribe('chat:events', 'u2');
    for (let i = 0; i < 3; i++) expect(await sub.nextWithin(2)).toBeUndefined();
    const waiting = sub.nextWithin(60_000);
    pubsub.publish('chat:events', 'u2', event(3));
    expect((await waiting)?.value).toMatchObject({ messageId: '3' });
    await sub.return();
  });

  it('ends a pending wait with done when the subscription is returned', async () => {
    const pubsub = createTopics();
    const sub = pubsub.subscribe('chat:events', 'u3');
    const waiting = sub.nextWithin(60_000);
    await sub.return();
    expect(await waiting).toEqual({ value: undefined, done: true });
    pubsub.publish('chat:events', 'u3', event(4));
    expect(await sub.nextWithin(5)).toEqual({ value: undefined, done: true });
  });
});

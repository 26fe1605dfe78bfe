import { AdmissionGate } from '../../src/http/admission';

describe('AdmissionGate', () => {
  afterEach(() => jest.useRealTimers());

  it('runs at most `running` at once and admits the waiters first come, first served', async () => {
    const gate = new AdmissionGate({ running: 2, waiting: 10, maxWaitMs: 60_000 });
    expect(await Promise.all([gate.enter(), gate.enter()])).toEqual([true, true]);
    const order: number[] = [];
    const waiters = [3, 4, 5].map((n) => gate.enter().then((ok) => (ok ? order.push(n) : undefined)));
    await Promise.resolve();
    expect(gate.size).toEqual({ running: 2, waiting: 3 });
    gate.leave();
    gate.leave();
    await Promise.resolve();
    expect(order).toEqual([3, 4]);
    expect(gate.size).toEqual({ running: 2, waiting: 1 });
    gate.leave();
    await Promise.all(waiters);
    expect(order).toEqual([3, 4, 5]);
    gate.leave();
    gate.leave();
    expect(gate.size).toEqual({ running: 0, waiting: 0 });
  });

  it('refuses at once when the queue is full, and a waiter whose wait ran out', async () => {
    jest.useFakeTimers();
    const gate = new AdmissionGate({ running: 1, waiting: 1, maxWaitMs: 1_000 });
    expect(await gate.enter()).toBe(true);
    const waiting = gate.enter();
    expect(await gate.enter()).toBe(false); // queue full
    jest.advanceTimersByTime(1_000);
    expect(await waiting).toBe(false); // waited too long
    expect(gate.size).toEqual({ running: 1, waiting: 0 });
    gate.leave();
    expect(gate.size).toEqual({ running: 0, waiting: 0 });
  });
});

describe('AdmissionGate, a waiter that leaves', () => {
  it('gives up its place at once, and the next waiter moves up', async () => {
    const gate = new AdmissionGate({ running: 1, waiting: 2, maxWaitMs: 60_000 });
    expect(await gate.enter()).toBe(true);
    let cancelFirst: () => void = () => undefined;
    const first = gate.enter((cancel) => (cancelFirst = cancel));
    const second = gate.enter();
    expect(gate.size).toEqual({ running: 1, waiting: 2 });
    cancelFirst();
    expect(await first).toBe(false);
    expect(gate.size).toEqual({ running: 1, waiting: 1 });
    gate.leave();
    expect(await second).toBe(true);
    expect(gate.size).toEqual({ running: 1, waiting: 0 });
  });
});
